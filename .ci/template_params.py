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
      resolve to the authorizer on the API routes, and to nothing when the parameters are
      empty. Exit 1 if a route has no Lambda integration or names an undefined scheme.

  template_params.py created TEMPLATE [NAME=VALUE...]
      SAM-translate TEMPLATE offline and print what these values switch on: the function's
      BASE_PATH, where the HTTP API stage's access log goes, then each resource and output
      whose Condition holds, with what matters of it (the custom domain's endpoint, the API
      mapping's key and the stage it resolves to, the alias record, the Lattice target
      group's event version and target, the invoke permission, the listener's forward).
      The linters check each resource alone; this shows the Conditions and the references
      between the conditional resources resolve as meant, both ways. Exit 1 on a reference
      that does not resolve to what it should (say, the mapping to another stage).

  template_params.py accesslog TEMPLATE
      The HttpApi's AccessLogSettings.Format as API Gateway gets it: check it is one line of
      JSON once each $context variable has a value, and that each variable is one HTTP APIs
      have (HTTP_API_VARIABLES: REST APIs have others); print one "key: $context.variable"
      line per field. Exit 1 otherwise.

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


def sub(node, values):
    """Fn::Sub's string with the parameters in values filled in (others left as ${Name})."""
    if isinstance(node, dict) and list(node) == ["Fn::Sub"] and isinstance(node["Fn::Sub"], str):
        def fill(m):
            return values.get(m.group(1), m.group(0))

        return re.sub(r"\$\{([^}]+)\}", fill, node["Fn::Sub"])
    return node


def ref_name(node):
    """The logical id a {"Ref": ...} names; anything else as its JSON text, which names none."""
    import json

    if isinstance(node, dict) and list(node) == ["Ref"]:
        return node["Ref"]
    return json.dumps(node)


def cmd_created(template, *assignments):
    doc = translate(template)
    values = {
        name: str(p["Default"]) for name, p in doc.get("Parameters", {}).items() if "Default" in p
    }
    values.update(pairs(assignments))
    conditions = doc.get("Conditions", {})
    values["<conditions>"] = conditions
    resources = doc["Resources"]
    bad = []

    def resource(name, want_type):
        """The resource a Ref or GetAtt names, which must exist, be created and have want_type."""
        r = resources.get(name)
        if r is None or r["Type"] != want_type:
            bad.append(f"{name} is not a {want_type}")
        elif "Condition" in r and not evaluate({"Condition": r["Condition"]}, values):
            bad.append(f"{name} is not created with these values")
        return r or {"Properties": {}}

    def holds(item):
        return "Condition" not in item or evaluate({"Condition": item["Condition"]}, values)

    try:
        env = resolve(resources["ApiFunction"]["Properties"]["Environment"]["Variables"], values)
        print(f"BASE_PATH={env.get('BASE_PATH', '(not declared)')}")
        stages = [
            (name, r)
            for name, r in resources.items()
            if r["Type"] == "AWS::ApiGatewayV2::Stage"
            and ref_name(r["Properties"]["ApiId"]) == "HttpApi"
        ]
        for name, stage in stages:
            log = stage["Properties"].get("AccessLogSettings", {})
            dest = log.get("DestinationArn", {}).get("Fn::GetAtt", [None])[0]
            group = resource(dest, "AWS::Logs::LogGroup")["Properties"].get("LogGroupName")
            stage_name = stage["Properties"]["StageName"]
            print(f"stage {stage_name}: access log to {dest} {sub(group, values)}")
        for name, r in resources.items():
            if "Condition" not in r or not holds(r):
                continue
            props = resolve(r.get("Properties", {}), values)
            kind, detail = r["Type"], ""
            if kind == "AWS::ApiGatewayV2::DomainName":
                (conf,) = props["DomainNameConfigurations"]
                detail = f"{props['DomainName']} {conf['EndpointType']} {conf['SecurityPolicy']}"
            elif kind == "AWS::ApiGatewayV2::ApiMapping":
                resource(ref_name(props["DomainName"]), "AWS::ApiGatewayV2::DomainName")
                stage = resource(ref_name(props["Stage"]), "AWS::ApiGatewayV2::Stage")
                if ref_name(stage["Properties"].get("ApiId")) != ref_name(props["ApiId"]):
                    bad.append(f"{name}: its Stage is not a stage of its ApiId")
                detail = (
                    f"api={ref_name(props['ApiId'])} key={props.get('ApiMappingKey', '(root)')} "
                    f"stage={stage['Properties'].get('StageName')}"
                )
            elif kind == "AWS::Route53::RecordSet":
                alias = props["AliasTarget"]["DNSName"]["Fn::GetAtt"]
                resource(alias[0], "AWS::ApiGatewayV2::DomainName")
                detail = f"{props['Type']} zone={props['HostedZoneId']} alias of {'.'.join(alias)}"
            elif kind == "AWS::VpcLattice::TargetGroup":
                targets = [ref_name(t["Id"]) for t in props.get("Targets", [])]
                for target in targets:
                    resource(target, "AWS::Lambda::Alias")
                version = props.get("Config", {}).get("LambdaEventStructureVersion", "V1 (default)")
                detail = f"{props['Type']} event={version} targets={','.join(map(str, targets))}"
            elif kind == "AWS::Lambda::Permission":
                resource(ref_name(props["FunctionName"]), "AWS::Lambda::Alias")
                source = props.get("SourceArn", {}).get("Fn::GetAtt", ["(any)"])[0]
                function = ref_name(props["FunctionName"])
                detail = f"{props['Principal']} may invoke {function} from {source}"
            elif kind == "AWS::VpcLattice::Listener":
                resource(ref_name(props["ServiceIdentifier"]), "AWS::VpcLattice::Service")
                forward = props["DefaultAction"]["Forward"]["TargetGroups"]
                groups = [ref_name(g["TargetGroupIdentifier"]) for g in forward]
                for group in groups:
                    resource(group, "AWS::VpcLattice::TargetGroup")
                detail = f"{props['Protocol']}:{props['Port']} forward to {','.join(groups)}"
            elif kind == "AWS::VpcLattice::ServiceNetworkServiceAssociation":
                resource(ref_name(props["ServiceIdentifier"]), "AWS::VpcLattice::Service")
                detail = f"network={props['ServiceNetworkIdentifier']}"
            elif kind == "AWS::VpcLattice::Service":
                detail = f"{props['Name']} auth={props.get('AuthType', 'NONE')}"
            print(f"{name}: {kind} {detail}".rstrip())
        for name, output in doc.get("Outputs", {}).items():
            if "Condition" not in output or not holds(output):
                continue
            value = resolve(output["Value"], values)
            shown = value if isinstance(value, str) else sub(value, values)
            print(f"output {name}" + (f": {shown}" if isinstance(shown, str) else ""))
    except Unknown as e:
        print(f"{template}: {e}")
        return 2
    for problem in bad:
        print(f"    {problem}")
    return 1 if bad else 0


# The $context variables HTTP API access logs know (API Gateway developer guide, "Customize
# HTTP API access logs"); REST APIs have others ($context.resourcePath, ...), which an HTTP
# API would log as "-". Properties ($context.authorizer.claims.<name>) are matched by prefix.
HTTP_API_VARIABLES = {
    "accountId", "apiId", "authorizer.claims.", "authorizer.error", "authorizer.principalId",
    "authorizer.", "awsEndpointRequestId", "awsEndpointRequestId2",
    "customDomain.basePathMatched", "dataProcessed", "domainName", "domainPrefix",
    "error.message", "error.messageString", "error.responseType", "extendedRequestId",
    "httpMethod", "identity.accountId", "identity.caller",
    "identity.cognitoAuthenticationProvider", "identity.cognitoAuthenticationType",
    "identity.cognitoIdentityId", "identity.cognitoIdentityPoolId", "identity.principalOrgId",
    "identity.clientCert.clientCertPem", "identity.clientCert.subjectDN",
    "identity.clientCert.issuerDN", "identity.clientCert.serialNumber",
    "identity.clientCert.validity.notBefore", "identity.clientCert.validity.notAfter",
    "identity.sourceIp", "identity.user", "identity.userAgent", "identity.userArn",
    "integration.error", "integration.integrationStatus", "integration.latency",
    "integration.requestId", "integration.status", "integrationErrorMessage",
    "integrationLatency", "integrationStatus", "path", "protocol", "requestId",
    "requestTime", "requestTimeEpoch", "responseLatency", "responseLength", "routeKey",
    "stage", "status",
}


def cmd_accesslog(template):
    import json

    from samtranslator.yaml_helper import yaml_parse

    doc = yaml_parse(open(template).read())
    fmt = doc["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"]["Format"]
    if not isinstance(fmt, str) or "\n" in fmt:
        print(f"{template}: the access log format is not one line of text: {fmt!r}")
        return 1
    variables = re.findall(r"\$context\.([A-Za-z0-9_.]+)", fmt)
    unknown = [
        v for v in variables
        if v not in HTTP_API_VARIABLES
        and not any(p.endswith(".") and v.startswith(p) and v != p for p in HTTP_API_VARIABLES)
    ]
    # Each variable as API Gateway could fill it in: a word, or "-" when it has no value (a
    # variable left unquoted in the format makes that invalid JSON). A key given twice would
    # hide one of the fields.
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError(f"a key is given twice: {keys}")
        return dict(pairs)

    try:
        for filler in ("x", "-"):
            filled = re.sub(r"\$context\.[A-Za-z0-9_.]+", filler, fmt)
            json.loads(filled, object_pairs_hook=no_duplicates)
    except ValueError as e:
        print(f"{template}: the access log format is not JSON once filled in: {e}")
        return 1
    for key, value in json.loads(fmt).items():
        print(f"{key}: {value}")
    for v in unknown:
        print(f"    $context.{v} is not an HTTP API access log variable")
    return 1 if unknown else 0


def main():
    commands = {
        "set": cmd_set,
        "rules": cmd_rules,
        "routes": cmd_routes,
        "created": cmd_created,
        "accesslog": cmd_accesslog,
    }
    if len(sys.argv) < 3 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
