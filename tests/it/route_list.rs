//! A route is its handler module and its entry in the route table; everything else that
//! lists routes is held against that table here. Both SAM templates must give each API route
//! of the table (one in the OpenAPI document: with a JWT authorizer it needs a caller) its own
//! HTTP API route, twice: as an `HttpApi` event of the function and as an operation of the
//! API's `DefinitionBody` that requires the `JwtAuthorizer`; and no other route. And
//! `tests/routes.json`, the list the scripts read (`tests/browser/test_docs.py`, `.ci/sam`), must
//! be the table's.
//!
//! Why a test: with `JwtIssuer` set, API Gateway's catch-all `$default` route is public (the
//! docs pages, unknown paths and CORS preflights go through it), so an API route a template
//! forgets still reaches the function, without a caller, and gets a 401 every time; nothing
//! at deploy time would say so.
//!
//! The templates are read as text, by indentation, rather than with a YAML parser (none is
//! in the dependency tree, and CloudFormation's short tags such as `!Ref` are not plain YAML
//! anyway): only the `Events:` block and `DefinitionBody:`'s `paths:` are read, both plain
//! mappings. A template in another shape fails here rather than passing unread.

use std::collections::BTreeSet;
use std::path::PathBuf;

use lambda_async_api::route_table;

const TEMPLATES: [&str; 2] = ["template.yaml", "template-managed-instances.yaml"];
/// API Gateway's catch-all route, which must stay: it brings everything else to the function.
const CATCH_ALL: &str = "ANY $default";
/// The public pages, which the templates leave to `$default`.
const PUBLIC: [&str; 3] = ["/openapi.json", "/docs", "/redoc"];

fn read(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The API routes of the table as `METHOD /path`, sorted, and the paths of its other routes.
fn table() -> (Vec<String>, Vec<&'static str>) {
    let (api, public): (Vec<_>, Vec<_>) = route_table()
        .into_iter()
        .partition(|route| route.operation_id.is_some());
    let mut api: Vec<String> = api
        .iter()
        .map(|route| format!("{} {}", route.method, route.path))
        .collect();
    api.sort();
    (api, public.iter().map(|route| route.path).collect())
}

/// Each line that is neither blank nor a comment: its indentation and its content.
fn lines(text: &str) -> Vec<(usize, &str)> {
    text.lines()
        .filter_map(|line| {
            let content = line.trim_start();
            (!content.is_empty() && !content.starts_with('#'))
                .then(|| (line.len() - content.len(), content.trim_end()))
        })
        .collect()
}

/// The lines nested under the one line of `lines` that is `key:`.
fn block<'a>(lines: &[(usize, &'a str)], key: &str, template: &str) -> Vec<(usize, &'a str)> {
    let head = format!("{key}:");
    let at: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].1 == head).collect();
    let [at] = at[..] else {
        panic!("{template}: want one `{head}` line, found {}", at.len());
    };
    let indent = lines[at].0;
    lines[at + 1..]
        .iter()
        .take_while(|(i, _)| *i > indent)
        .copied()
        .collect()
}

/// The entries of a mapping's block: the key of each line at its least indentation, with the
/// lines nested under it.
fn entries<'a>(block: &[(usize, &'a str)]) -> Vec<(&'a str, Vec<(usize, &'a str)>)> {
    let least = block.iter().map(|(i, _)| *i).min().unwrap_or_default();
    let mut out: Vec<(&str, Vec<_>)> = Vec::new();
    for &(indent, content) in block {
        match out.last_mut() {
            Some((_, inner)) if indent > least => inner.push((indent, content)),
            _ => out.push((key(content), Vec::new())),
        }
    }
    out
}

/// The key of a mapping's line: `get` for `get:` and for `get: {}`.
fn key(line: &str) -> &str {
    let key = line
        .split_once(": ")
        .map_or_else(|| line.strip_suffix(':').unwrap_or(line), |(key, _)| key);
    unquote(key)
}

fn unquote(text: &str) -> &str {
    text.trim().trim_matches(['\'', '"'])
}

/// The value of the `name: value` line among `lines`.
fn value<'a>(lines: &[(usize, &'a str)], name: &str) -> Option<&'a str> {
    lines
        .iter()
        .find_map(|(_, content)| content.strip_prefix(name)?.strip_prefix(':'))
        .map(unquote)
}

/// The function's `HttpApi` events, as `METHOD /path`.
fn events(template: &str, text: &str) -> Vec<String> {
    let lines = lines(text);
    entries(&block(&lines, "Events", template))
        .into_iter()
        .filter(|(_, event)| value(event, "Type") == Some("HttpApi"))
        .map(|(name, event)| {
            let field = |field| {
                value(&event, field)
                    .unwrap_or_else(|| panic!("{template}: event {name} has no {field}"))
            };
            format!("{} {}", field("Method").to_ascii_uppercase(), field("Path"))
        })
        .collect()
}

/// The operations of the HTTP API's `DefinitionBody`, as `METHOD /path`, each with whether it
/// requires the `JwtAuthorizer`.
fn body_operations(template: &str, text: &str) -> Vec<(String, bool)> {
    let lines = lines(text);
    let body = block(&lines, "DefinitionBody", template);
    entries(&block(&body, "paths", template))
        .into_iter()
        .flat_map(|(path, item)| {
            entries(&item).into_iter().map(move |(method, operation)| {
                let secured =
                    value(&operation, "security").is_some_and(|s| s.contains("JwtAuthorizer"));
                (format!("{} {path}", method.to_ascii_uppercase()), secured)
            })
        })
        .collect()
}

/// What is wrong with `got` as a list of exactly the table's API routes `want` (both sorted):
/// the routes missing, those the table has not (as API routes), and those given twice.
fn disagreement(what: &str, got: &[String], want: &[String]) -> Option<String> {
    let (got_set, want_set): (BTreeSet<_>, BTreeSet<_>) =
        (got.iter().collect(), want.iter().collect());
    let twice: BTreeSet<_> = got
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| &w[0])
        .collect();
    let parts: Vec<String> = [
        (
            "missing the table's API routes",
            want_set.difference(&got_set).collect::<Vec<_>>(),
        ),
        (
            "routes the table has not as API routes",
            got_set.difference(&want_set).collect(),
        ),
        ("given twice", twice.iter().collect()),
    ]
    .into_iter()
    .filter(|(_, routes)| !routes.is_empty())
    .map(|(problem, routes)| format!("{problem} {routes:?}"))
    .collect();
    (!parts.is_empty()).then(|| format!("{what}: {}", parts.join("; ")))
}

#[test]
fn both_templates_route_exactly_the_tables_api_routes_behind_the_authorizer() {
    let (api, public) = table();
    assert!(!api.is_empty(), "the table has no API route");
    for path in PUBLIC {
        assert!(
            public.contains(&path),
            "{path} is not a public route of the table"
        );
    }
    let mut problems = Vec::new();
    for template in TEMPLATES {
        let text = read(template);

        let mut events = events(template, &text);
        events.sort();
        let catch_all = events.iter().filter(|e| *e == CATCH_ALL).count();
        if catch_all != 1 {
            problems.push(format!(
                "{template}: want one `{CATCH_ALL}` event (Path: $default, Method: ANY), found \
                 {catch_all}"
            ));
        }
        events.retain(|e| e != CATCH_ALL);
        problems.extend(disagreement(
            &format!("{template}, the function's HttpApi events (Events:)"),
            &events,
            &api,
        ));

        let operations = body_operations(template, &text);
        let mut routes: Vec<String> = operations.iter().map(|(r, _)| r.clone()).collect();
        routes.sort();
        problems.extend(disagreement(
            &format!("{template}, the HttpApi's DefinitionBody paths"),
            &routes,
            &api,
        ));
        for (route, secured) in &operations {
            if !secured {
                problems.push(format!(
                    "{template}: DefinitionBody's {route} does not require the JwtAuthorizer \
                     (security: !If [JwtOn, [JwtAuthorizer: []], !Ref AWS::NoValue])"
                ));
            }
        }

        for route in events.iter().chain(&routes) {
            let path = route.split_once(' ').map_or("", |(_, path)| path);
            if public.contains(&path) {
                problems.push(format!(
                    "{template}: {route} is a public route of the table: it stays on $default"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the templates and the route table (src/api/routes/mod.rs) disagree; see \
         docs/architecture.md, \"Adding a route\":\n{}",
        problems.join("\n")
    );
}

#[test]
fn tests_routes_json_lists_the_tables_api_routes_with_their_operation_ids() {
    let mut table: Vec<(String, String, String)> = route_table()
        .into_iter()
        .filter_map(|route| Some((route.method, route.path.to_owned(), route.operation_id?)))
        .collect();
    table.sort();
    let list: serde_json::Value =
        serde_json::from_str(&read("tests/routes.json")).expect("tests/routes.json is JSON");
    let field = |route: &serde_json::Value, name: &str| {
        route[name]
            .as_str()
            .unwrap_or_else(|| panic!("tests/routes.json: {route} has no {name}"))
            .to_owned()
    };
    let mut listed: Vec<(String, String, String)> = list["routes"]
        .as_array()
        .expect("tests/routes.json has a routes array")
        .iter()
        .map(|route| {
            let method = field(route, "method");
            (method, field(route, "path"), field(route, "operationId"))
        })
        .collect();
    listed.sort();
    assert_eq!(
        listed, table,
        "tests/routes.json (left) is not the route table's API routes (right): method, path, \
         operationId"
    );
}

/// The reader on a template in the shape of ours, so that a change in the shape it expects
/// shows here, not as a confusing disagreement.
#[test]
fn the_reader_finds_events_and_body_operations() {
    let text = "\
Resources:
  Fn:
    Properties:
      Events:
        One:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Path: /one/{id}
            Method: get
        # a comment
        Queue:
          Type: SQS
          Properties:
            Queue: q

        CatchAll:
          Type: HttpApi
          Properties:
            Path: $default
            Method: ANY
  HttpApi:
    Properties:
      DefinitionBody:
        openapi: '3.0.1'
        paths:
          '/one/{id}':
            get:
              security: !If [JwtOn, [JwtAuthorizer: []], !Ref AWS::NoValue]
          /two:
            get: {}
        components: !If
          - JwtOn
";
    assert_eq!(events("t", text), ["GET /one/{id}", "ANY $default"]);
    assert_eq!(
        body_operations("t", text),
        [
            ("GET /one/{id}".to_owned(), true),
            ("GET /two".to_owned(), false)
        ]
    );
}
