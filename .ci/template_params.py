#!/usr/bin/env python3
"""Parameter values for template checks that take none (sam validate, cfn-lint). Used by .ci/sam.

  template_params.py set SRC DST NAME=VALUE...
      Copy SRC to DST with each NAME's `Default: ''` replaced by VALUE, everything else byte
      for byte, so the linters see the template as deployed with those values. Fails if a
      NAME is not declared with an empty default (a renamed or reformatted parameter must not
      turn the check into a second lint of the defaults).

  template_params.py rules TEMPLATE [NAME=VALUE...]
      Evaluate the template's Rules section as CloudFormation does before a create or update,
      with the parameter defaults overridden by NAME=VALUE: prints "accepted", or "refused:"
      and each failed AssertDescription. Exit 0 accepted, 1 refused, 2 on anything it cannot
      evaluate. Knows Ref, Condition, Fn::Equals, Fn::Not, Fn::And, Fn::Or and Fn::Contains;
      no linter evaluates Rules, so this is what shows the assertions refuse what they should.

  template_params.py routes TEMPLATE [NAME=VALUE...]
      SAM-translate TEMPLATE offline and resolve the HTTP API's OpenAPI body (resource
      HttpApi) for these values as CloudFormation would (Fn::If on the template's Conditions,
      Ref to parameters, Fn::Split, AWS::NoValue dropped); print one line per route with the
      authorizer it requires ("public" for none) and one per security scheme. The linters
      cannot look into the body (a JSON blob to them), so this is what shows the !If parts
      resolve to the authorizer on the three routes, and to nothing when the parameters are
      empty. Exit 1 if a route has no Lambda integration or names an undefined scheme.

Runs with the virtualenv's python (.ci/venv): it reads YAML with samtranslator's parser,
which understands the short forms (!Ref, !Not, ...).
"""

import re
import sys


def pairs(args):
    out = {}
    for a in args:
        name, sep, value = a.partition("=")
        if not sep:
            raise SystemExit(f"not NAME=VALUE: {a!r}")
        out[name] = value
    return out


def cmd_set(src, dst, *assignments):
    text = open(src).read()
    for name, value in pairs(assignments).items():
        # The parameter's block: "  NAME:" then its 4-space-indented keys and comments.
        pattern = re.compile(
            r"(^  %s:\n(?:    .*\n|\s*#.*\n)*?    Default: )''$" % re.escape(name), re.M
        )
        text, n = pattern.subn(lambda m: m.group(1) + value, text)
        if n != 1:
            raise SystemExit(f"{src}: parameter {name} with Default: '' found {n} times, want 1")
    open(dst, "w").write(text)
    return 0


class Unknown(Exception):
    pass


def evaluate(expr, values):
    if isinstance(expr, (str, int, float, bool)):
        return str(expr) if not isinstance(expr, bool) else expr
    if isinstance(expr, list):
        return [evaluate(e, values) for e in expr]
    if not isinstance(expr, dict) or len(expr) != 1:
        raise Unknown(f"not an expression: {expr!r}")
    (fn, arg), = expr.items()
    if fn == "Ref":
        if arg not in values:
            raise Unknown(f"Ref to {arg}, which is no parameter with a value")
        return values[arg]
    if fn == "Condition":
        if arg not in values.get("<conditions>", {}):
            raise Unknown(f"Condition {arg} is not defined")
        return evaluate(values["<conditions>"][arg], values)
    if fn == "Fn::Equals":
        a, b = evaluate(arg, values)
        return a == b
    if fn == "Fn::Not":
        (a,) = evaluate(arg, values)
        return not a
    if fn == "Fn::And":
        return all(evaluate(arg, values))
    if fn == "Fn::Or":
        return any(evaluate(arg, values))
    if fn == "Fn::Contains":
        haystack, needle = evaluate(arg, values)
        return needle in haystack
    raise Unknown(f"{fn} is not evaluated here")


def cmd_rules(template, *assignments):
    from samtranslator.yaml_helper import yaml_parse

    doc = yaml_parse(open(template).read())
    values = {
        name: str(p["Default"]) for name, p in doc.get("Parameters", {}).items() if "Default" in p
    }
    values.update(pairs(assignments))
    refused = []
    try:
        for name, rule in (doc.get("Rules") or {}).items():
            if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], values):
                continue
            for assertion in rule["Assertions"]:
                if not evaluate(assertion["Assert"], values):
                    refused.append(f"{name}: {assertion.get('AssertDescription', '')}")
    except Unknown as e:
        print(f"{template}: {e}")
        return 2
    if refused:
        print("refused: " + "; ".join(refused))
        return 1
    print("accepted")
    return 0


NO_VALUE = object()


def resolve(node, values):
    """node with the parameter-dependent intrinsics resolved; others (Fn::Sub, Fn::GetAtt) kept."""
    if isinstance(node, list):
        return [r for r in (resolve(e, values) for e in node) if r is not NO_VALUE]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((fn, arg),) = node.items()
        if fn == "Ref" and arg == "AWS::NoValue":
            return NO_VALUE
        if fn == "Ref" and arg in values:
            return values[arg]
        if fn == "Fn::If":
            name, then, otherwise = arg
            return resolve(then if evaluate({"Condition": name}, values) else otherwise, values)
        if fn == "Fn::Split":
            sep, text = arg[0], resolve(arg[1], values)
            if isinstance(text, str):
                return text.split(sep)
    out = {}
    for key, value in node.items():
        value = resolve(value, values)
        if value is not NO_VALUE:
            out[key] = value
    return out


def translate(template):
    """The template as CloudFormation gets it from SAM (offline; needs AWS_DEFAULT_REGION)."""
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    doc = yaml_parse(open(template).read())
    for resource in doc.get("Resources", {}).values():
        # sam validate does the same: the translator wants an S3 location, not a directory.
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/key"

    class NoManagedPolicies:
        def load(self):
            return {}

    return transform(doc, {}, NoManagedPolicies())


def cmd_routes(template, *assignments):
    doc = translate(template)
    values = {
        name: str(p["Default"]) for name, p in doc.get("Parameters", {}).items() if "Default" in p
    }
    values.update(pairs(assignments))
    values["<conditions>"] = doc.get("Conditions", {})
    try:
        body = resolve(doc["Resources"]["HttpApi"]["Properties"]["Body"], values)
    except Unknown as e:
        print(f"{template}: {e}")
        return 2
    schemes = body.get("components", {}).get("securitySchemes", {})
    bad = 0
    for path, item in body["paths"].items():
        for method, op in item.items():
            method = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
            names = [name for requirement in op.get("security", []) for name in requirement]
            print(f"{method} {path}: {', '.join(names) or 'public'}")
            if "x-amazon-apigateway-integration" not in op:
                print(f"    {method} {path} has no integration")
                bad += 1
            for name in names:
                if name not in schemes:
                    print(f"    {name} is not in components.securitySchemes")
                    bad += 1
    for name, scheme in schemes.items():
        auth = scheme.get("x-amazon-apigateway-authorizer", {})
        jwt = auth.get("jwtConfiguration", {})
        print(
            f"{name}: {auth.get('type')} {auth.get('identitySource')} "
            f"issuer={jwt.get('issuer')} audience={','.join(jwt.get('audience', []))}"
        )
    return 1 if bad else 0


def main():
    commands = {"set": cmd_set, "rules": cmd_rules, "routes": cmd_routes}
    if len(sys.argv) < 3 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
