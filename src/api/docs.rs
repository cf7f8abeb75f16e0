//! `GET /docs` (Swagger UI) and `GET /redoc` (ReDoc): the interactive docs FastAPI serves
//! for the original, built from our `/openapi.json`.
//!
//! As in FastAPI, each page is a few lines of HTML that load the UI's bundle from a CDN
//! (jsDelivr's npm mirror by default): nothing is bundled into the binary, so the artifact and
//! the cold start stay as they are. Unlike FastAPI's, the pages load nothing else from third
//! parties (no Google Fonts, no favicon from fastapi.tiangolo.com), and what they load is
//! pinned: an exact version of each package, and each file's Subresource Integrity hash. The
//! pages run in the API's origin and Swagger UI holds the bearer token a user authorizes with,
//! so a file changed on the CDN must not run there: the browser refuses a file whose hash
//! differs. `scripts/docs-browser` serves exactly these files from the npm registry's tarballs
//! and fails if a hash does not match. A version bump changes the constants below together.
//!
//! The pages name the document by the relative URL `openapi.json`, so behind an API Gateway
//! stage (`/prod/docs`) they find `/prod/openapi.json` with no setting; the document then
//! carries the stage as its server, so "Try it out" calls `/prod/calculate/7`.

use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The two pages for one asset base, each rendered on its first request.
#[derive(Debug)]
pub(crate) struct DocsPages {
    asset_url: String,
    swagger_ui: OnceLock<Bytes>,
    redoc: OnceLock<Bytes>,
}

impl DocsPages {
    /// `asset_url` without a trailing `/`: the folder holding [`SWAGGER_UI_PACKAGE`] and
    /// [`REDOC_PACKAGE`]. Cheap: nothing is rendered yet.
    pub(crate) fn new(asset_url: &str) -> Arc<Self> {
        Arc::new(Self {
            asset_url: asset_url.trim_end_matches('/').to_owned(),
            swagger_ui: OnceLock::new(),
            redoc: OnceLock::new(),
        })
    }

    /// `GET /docs`.
    pub(crate) fn swagger_ui(&self) -> Response {
        html(
            self.swagger_ui
                .get_or_init(|| swagger_ui_html(&self.asset_url).into()),
        )
    }

    /// `GET /redoc`.
    pub(crate) fn redoc(&self) -> Response {
        html(
            self.redoc
                .get_or_init(|| redoc_html(&self.asset_url).into()),
        )
    }
}

/// One page's HTML.
fn html(page: &Bytes) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page.clone(),
    )
        .into_response()
}

const TITLE: &str = "lambda-async-api";

/// The pinned packages, as folders under the asset URL (jsDelivr's and unpkg's npm layout).
pub(crate) const SWAGGER_UI_PACKAGE: &str = "swagger-ui-dist@5.35.0";
pub(crate) const REDOC_PACKAGE: &str = "redoc@2.5.4";

/// Each file the pages load, and the SHA-384 of its bytes in the package's npm tarball.
const SWAGGER_UI_JS: Asset = Asset {
    path: "swagger-ui-bundle.js",
    integrity: "sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9",
};
const SWAGGER_UI_CSS: Asset = Asset {
    path: "swagger-ui.css",
    integrity: "sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I",
};
const REDOC_JS: Asset = Asset {
    path: "bundles/redoc.standalone.js",
    integrity: "sha384-w447zOpYfw/1Tv/5AK9NfHTlQIqE3RVR6KY62jCyy9zNDgO64cMwGGP1Fj0zJVf5",
};

struct Asset {
    path: &'static str,
    integrity: &'static str,
}

/// FastAPI's `get_swagger_ui_html`, less the third-party favicon.
fn swagger_ui_html(asset_url: &str) -> String {
    let base = escape(asset_url);
    let (package, css, js) = (SWAGGER_UI_PACKAGE, SWAGGER_UI_CSS, SWAGGER_UI_JS);
    format!(
        r##"<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<link type="text/css" rel="stylesheet" href="{base}/{package}/{css_path}" integrity="{css_integrity}" crossorigin="anonymous">
<link rel="icon" href="data:,">
<title>{TITLE} - Swagger UI</title>
</head>
<body>
<div id="swagger-ui"></div>
<script src="{base}/{package}/{js_path}" integrity="{js_integrity}" crossorigin="anonymous"></script>
<script>
const ui = SwaggerUIBundle({{
    url: "openapi.json",
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
}})
</script>
</body>
</html>
"##,
        css_path = css.path,
        css_integrity = css.integrity,
        js_path = js.path,
        js_integrity = js.integrity,
    )
}

/// FastAPI's `get_redoc_html`, less Google Fonts and the third-party favicon (ReDoc falls
/// back to the system's fonts). ReDoc's bundle shows a logo from `cdn.redoc.ly` that no option
/// turns off; the page's own policy keeps images to this origin and inline data.
fn redoc_html(asset_url: &str) -> String {
    let base = escape(asset_url);
    let (package, js) = (REDOC_PACKAGE, REDOC_JS);
    format!(
        r#"<!DOCTYPE html>
<html>
<head>
<title>{TITLE} - ReDoc</title>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="img-src 'self' data:">
<link rel="icon" href="data:,">
<style> body {{ margin: 0; padding: 0; }} </style>
</head>
<body>
<noscript>ReDoc requires JavaScript to function. Please enable it to browse the documentation.</noscript>
<redoc spec-url="openapi.json"></redoc>
<script src="{base}/{package}/{js_path}" integrity="{js_integrity}" crossorigin="anonymous"></script>
</body>
</html>
"#,
        js_path = js.path,
        js_integrity = js.integrity,
    )
}

/// Escapes text for an HTML attribute value. The URL is validated by `config`, but a page
/// must not depend on that for its markup being intact.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_load_the_bundles_from_the_asset_url_and_nothing_else() {
        for page in [
            swagger_ui_html("https://assets.example/npm"),
            redoc_html("https://assets.example/npm"),
        ] {
            let urls: Vec<&str> = page
                .split(['"', '\''])
                .filter(|s| s.contains("://"))
                .collect();
            assert!(!urls.is_empty());
            assert!(
                urls.iter()
                    .all(|url| url.starts_with("https://assets.example/npm/")),
                "{urls:?}"
            );
        }
        let swagger = swagger_ui_html("https://a.example");
        assert!(
            swagger.contains(r#"src="https://a.example/swagger-ui-dist@5.35.0/swagger-ui-bundle.js" integrity="sha384-"#)
        );
        assert!(swagger.contains(
            r#"href="https://a.example/swagger-ui-dist@5.35.0/swagger-ui.css" integrity="sha384-"#
        ));
        assert!(swagger.contains(r#"url: "openapi.json""#));
        let redoc = redoc_html("https://a.example");
        assert!(redoc.contains(r#"content="img-src 'self' data:""#));
        assert!(redoc.contains(
            r#"src="https://a.example/redoc@2.5.4/bundles/redoc.standalone.js" integrity="sha384-"#
        ));
        // Every file is pinned: each tag that loads one names its hash, for a CORS fetch.
        for page in [&swagger, &redoc] {
            let loads =
                page.matches(" src=\"").count() + page.matches("stylesheet\" href=\"").count();
            assert_eq!(page.matches("integrity=\"sha384-").count(), loads, "{page}");
            assert_eq!(
                page.matches(r#"crossorigin="anonymous""#).count(),
                loads,
                "{page}"
            );
        }
        assert!(redoc.contains(r#"spec-url="openapi.json""#));
    }

    #[test]
    fn the_asset_url_cannot_break_out_of_its_attribute() {
        let page = swagger_ui_html(r#"https://a.example/"><script>alert(1)</script>"#);
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("&quot;&gt;&lt;script&gt;"));
    }

    #[test]
    fn a_trailing_slash_in_the_setting_is_not_doubled() {
        assert_eq!(
            DocsPages::new("https://a.example/npm/").asset_url,
            "https://a.example/npm"
        );
    }
}
