//! Response compression: gzip for clients whose `Accept-Encoding` takes it, with tower-http's
//! [`CompressionLayer`] doing the encoding and the rule of Starlette's `GZipMiddleware` for
//! what is worth it.
//!
//! An answer is compressed only when all of these hold:
//! - the client accepts gzip (`Accept-Encoding`, q-values honoured); a client that asks for
//!   nothing, or only for encodings we do not write, gets the bytes as they are;
//! - the body is at least `COMPRESSION_MIN_BYTES` long (500 by default, Starlette's): below
//!   that the bytes saved do not pay for the encoder, and gzip's own 18 bytes of framing can
//!   make a small body larger. Every answer of the seed's three routes is below it;
//! - its type is not one that is compressed already ([`ALREADY_COMPRESSED`]: images but SVG,
//!   audio, video, fonts, archives), where a second pass only spends CPU;
//! - it has no `Content-Encoding` yet and is not a range (tower-http's own rule).
//!
//! A compressed answer carries `Content-Encoding: gzip` and no `Content-Length`; every answer
//! that could be compressed carries `Vary: Accept-Encoding`, so that a cache never hands the
//! gzip bytes to a client that did not ask for them. The Lambda transport sends a compressed
//! body base64-encoded (`isBase64Encoded`), which API Gateway, ALB and Function URLs decode
//! before the client sees it (`crate::lambda`).
//!
//! Why gzip alone, at tower-http's default level (6), and why on by default: measured at
//! 128 MB in docs/performance.md ("Compression"). Brotli would add 1.1 MiB to the bootstrap
//! and take the deployment zip over its 3.5 MiB budget; gzip adds 80 KiB, and 3.4 ms of CPU to
//! an 82 KB answer that it makes six times smaller.
//!
//! The encoder runs as the body is read, after the handler is done: its CPU time is in the
//! invocation's duration but not in the access line's `duration_ms`.

use axum::body::{Body, HttpBody};
use axum::http::Response;
use tower::util::MapResponseLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::{CompressionBody, CompressionLayer};

/// Content types whose bodies are compressed already (by prefix, as `Content-Type` starts):
/// compressing them again saves next to nothing and costs the full encoder.
const ALREADY_COMPRESSED: [NotForContentType; 12] = [
    // `image/` but `image/svg+xml`, which is text.
    NotForContentType::IMAGES,
    NotForContentType::const_new("audio/"),
    NotForContentType::const_new("video/"),
    // WOFF and WOFF2 are zlib and brotli inside.
    NotForContentType::const_new("font/woff"),
    NotForContentType::const_new("application/zip"),
    NotForContentType::const_new("application/gzip"),
    NotForContentType::const_new("application/x-gzip"),
    NotForContentType::const_new("application/zstd"),
    NotForContentType::const_new("application/x-bzip2"),
    NotForContentType::const_new("application/x-xz"),
    NotForContentType::const_new("application/x-7z-compressed"),
    // An event stream is read as it comes: an encoder would hold events back until its
    // buffer fills.
    NotForContentType::SSE,
];

/// The compression layer for answers of at least `min_bytes`, answering axum's [`Response`]
/// (whatever the body) like the layers around it, so that it can be switched off.
pub(crate) fn layer(
    min_bytes: u16,
) -> (MapResponseLayer<AsAxumBody>, CompressionLayer<Compressible>) {
    let compression = CompressionLayer::new().compress_when(Compressible {
        min_size: SizeAbove::new(min_bytes),
    });
    (
        MapResponseLayer::new(|answer| answer.map(Body::new)),
        compression,
    )
}

/// The encoder's answer as axum's.
type AsAxumBody = fn(Response<CompressionBody<Body>>) -> Response<Body>;

/// Which answers are worth compressing: large enough, and not compressed already.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Compressible {
    min_size: SizeAbove,
}

impl Predicate for Compressible {
    fn should_compress<B: HttpBody>(&self, response: &Response<B>) -> bool {
        self.min_size.should_compress(response)
            && ALREADY_COMPRESSED
                .iter()
                .all(|not_for| not_for.should_compress(response))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use axum::Router;
    use axum::body::Body;
    use axum::extract::{Path, Request};
    use axum::http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, VARY};
    use axum::routing::get;
    use tower::ServiceExt;

    use crate::api::with_layers;
    use crate::config::Config;
    use crate::telemetry::metrics::Metrics;

    /// `n` bytes of JSON-like text, which gzip shrinks.
    fn text(n: usize) -> String {
        let unit = r#"{"id":1,"title":"delectus aut autem"},"#;
        unit.repeat(n / unit.len() + 1)[..n].to_owned()
    }

    /// Routes answering `n` bytes of each content type, through the app's layers with
    /// compression from `min_bytes` (`None`: off).
    fn app(min_bytes: Option<u16>) -> Router {
        let with_type = |content_type: &'static str| {
            get(
                move |Path(n): Path<usize>| async move { ([(CONTENT_TYPE, content_type)], text(n)) },
            )
        };
        let routes = Router::new()
            .route("/json/{n}", with_type("application/json"))
            .route("/png/{n}", with_type("image/png"))
            .route("/svg/{n}", with_type("image/svg+xml"))
            .route("/zip/{n}", with_type("application/zip"));
        let config = match min_bytes {
            Some(min_bytes) => {
                Config::from_pairs(&[("COMPRESSION_MIN_BYTES", &min_bytes.to_string())])
            }
            None => Config::from_pairs(&[("COMPRESSION", "off")]),
        };
        with_layers(routes, &config.unwrap(), Metrics::disabled())
    }

    /// The `Content-Encoding` and `Vary` of the answer to GET `path`, and its body decoded
    /// (checked to be the `n` bytes the route wrote).
    async fn get_as(
        app: &Router,
        path: &str,
        accept_encoding: Option<&str>,
    ) -> (Option<String>, Option<String>) {
        let mut request = Request::get(path).body(Body::empty()).unwrap();
        if let Some(accept) = accept_encoding {
            request
                .headers_mut()
                .insert(ACCEPT_ENCODING, accept.parse().unwrap());
        }
        let response = app.clone().oneshot(request).await.unwrap();
        let header = |name| {
            response
                .headers()
                .get(name)
                .map(|v: &axum::http::HeaderValue| v.to_str().unwrap().to_owned())
        };
        let (encoding, vary) = (header(CONTENT_ENCODING), header(VARY));
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = match encoding.as_deref() {
            Some("gzip") => {
                let mut decoded = String::new();
                flate2::read::GzDecoder::new(&bytes[..])
                    .read_to_string(&mut decoded)
                    .expect("a whole gzip stream");
                decoded
            }
            None => String::from_utf8(bytes.to_vec()).unwrap(),
            Some(other) => panic!("unexpected content-encoding {other}"),
        };
        let n: usize = path.rsplit('/').next().unwrap().parse().unwrap();
        assert_eq!(body, text(n), "{path}: the same bytes once decoded");
        (encoding, vary)
    }

    const GZIP: Option<&str> = Some("gzip");

    #[tokio::test]
    async fn gzip_from_the_minimum_size_for_clients_that_accept_it() {
        let app = app(Some(500));
        let vary = Some("accept-encoding".to_owned());
        assert_eq!(
            get_as(&app, "/json/500", GZIP).await,
            (Some("gzip".into()), vary.clone())
        );
        assert_eq!(
            get_as(&app, "/json/5000", Some("gzip, deflate, br")).await,
            (Some("gzip".into()), vary.clone())
        );
        // Below the minimum: as it is, and nothing to vary on.
        assert_eq!(get_as(&app, "/json/499", GZIP).await, (None, None));
        // A client that does not take gzip gets the bytes; a cache keeps the two apart.
        for accept in [None, Some("identity"), Some("br"), Some("gzip;q=0, br")] {
            assert_eq!(
                get_as(&app, "/json/5000", accept).await,
                (None, vary.clone()),
                "{accept:?}"
            );
        }
    }

    #[tokio::test]
    async fn compressed_types_are_never_compressed_again() {
        let app = app(Some(500));
        for path in ["/png/5000", "/zip/5000"] {
            assert_eq!(get_as(&app, path, GZIP).await, (None, None), "{path}");
        }
        // SVG is an image, but text.
        assert_eq!(
            get_as(&app, "/svg/5000", GZIP).await.0.as_deref(),
            Some("gzip")
        );
    }

    #[tokio::test]
    async fn off_compresses_nothing() {
        let app = app(None);
        assert_eq!(get_as(&app, "/json/5000", GZIP).await, (None, None));
    }
}
