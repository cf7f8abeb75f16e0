//! Small API Gateway events for the transport's unit tests, built around what each test
//! varies (the path, the stage, the client's path); the full events of every front door are
//! in `events/`, for the fixture tests.

/// An HTTP API (v2) event for `GET {raw_path}` on `stage`.
pub(super) fn v2(raw_path: &str, stage: &str) -> String {
    format!(
        r#"{{"version":"2.0","routeKey":"$default","rawPath":"{raw_path}","rawQueryString":"",
        "headers":{{}},"requestContext":{{"accountId":"1","apiId":"a","domainName":"a.example",
        "domainPrefix":"a","http":{{"method":"GET","path":"{raw_path}","protocol":"HTTP/1.1",
        "sourceIp":"127.0.0.1","userAgent":"t"}},"requestId":"r","routeKey":"$default",
        "stage":"{stage}","time":"01/Jan/2026:00:00:00 +0000","timeEpoch":0}},"isBase64Encoded":false}}"#
    )
}

/// A REST API (v1) event for `GET {path}` on `stage`, with `requestContext.path` (the path
/// the client used) when `context_path` is given.
pub(super) fn v1(path: &str, context_path: Option<&str>, stage: &str) -> String {
    let context_path = context_path.map_or(String::new(), |p| format!(r#""path":"{p}","#));
    format!(
        r#"{{"resource":"/{{proxy+}}","path":"{path}","httpMethod":"GET","headers":{{}},
        "multiValueHeaders":{{}},"queryStringParameters":null,"multiValueQueryStringParameters":null,
        "pathParameters":null,"stageVariables":null,"requestContext":{{{context_path}"accountId":"1",
        "resourceId":"x","stage":"{stage}","requestId":"r","identity":{{"sourceIp":"127.0.0.1"}},
        "resourcePath":"/{{proxy+}}","httpMethod":"GET","apiId":"a"}},"body":null,"isBase64Encoded":false}}"#
    )
}
