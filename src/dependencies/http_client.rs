//! The one HTTP stack of the process, reqwest over rustls, that every dependency uses: the
//! external API ([`super::upstream`]), DynamoDB ([`super::database`]) and the OpenTelemetry
//! collector ([`super::collector`]). One stack links once, and the trust store is read once,
//! for all.

use std::net::IpAddr;
use std::sync::OnceLock;

use reqwest::{Client, ClientBuilder, Url};

/// A client from `configure`'s builder, trusting the system's root certificates.
///
/// Building it reads the trust store (file I/O and parsing, milliseconds at small CPU
/// shares): callers build it once, on the blocking pool.
pub(crate) fn build(configure: impl Fn(ClientBuilder) -> ClientBuilder) -> reqwest::Result<Client> {
    // reqwest is built without a crypto provider of its own (Cargo.toml says why); this
    // makes ring's the process's. An `Err` only says an earlier call installed it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    if let Some(roots) = system_bundle()
        && let Ok(client) = configure(Client::builder()).tls_certs_only(roots).build()
    {
        return Ok(client);
    }
    configure(Client::builder()).build()
}

/// [`build`], or for plain `http://` only (`plain`): then without reading any certificate,
/// which such a client never needs (the collector on `localhost`).
pub(crate) fn build_for(
    plain: bool,
    configure: impl Fn(ClientBuilder) -> ClientBuilder,
) -> reqwest::Result<Client> {
    if !plain {
        return build(configure);
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    configure(Client::builder())
        .tls_certs_only(Vec::new())
        .build()
}

/// Whether `url` names this machine (`localhost` or a loopback address): a proxy from
/// `HTTP(S)_PROXY` cannot reach it there, so such a URL is never sent through one.
pub(crate) fn is_loopback(url: &Url) -> bool {
    url.host_str().is_some_and(|host| {
        host.eq_ignore_ascii_case("localhost")
            || host
                .trim_matches(['[', ']'])
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

/// The system's root certificates from its one bundle file, unless `SSL_CERT_FILE` or
/// `SSL_CERT_DIR` name others (then, as when no bundle is found or one fails to load, the
/// platform verifier's own search applies).
///
/// That search reads the first bundle file it finds and then every file in `/etc/ssl/certs`
/// and `/etc/pki/tls/certs`. On Amazon Linux 2023 (Lambda's `provided.al2023`) those hold
/// `ca-bundle.crt`, the bundle again (skipped), and `ca-bundle.trust.crt`, the same roots once
/// more as OpenSSL "TRUSTED CERTIFICATE"s, read through line by line for nothing; on Debian,
/// one file per root. One file is the same set of roots for less of the first call's CPU.
fn system_bundle() -> Option<Vec<reqwest::Certificate>> {
    // Both clients are built during the first `/call-external-api` (with `ITEMS_TABLE`):
    // the bundle is read and parsed by whichever comes first, and shared.
    static ROOTS: OnceLock<Option<Vec<reqwest::Certificate>>> = OnceLock::new();
    ROOTS.get_or_init(read_system_bundle).clone()
}

fn read_system_bundle() -> Option<Vec<reqwest::Certificate>> {
    if std::env::var_os("SSL_CERT_FILE").is_some() || std::env::var_os("SSL_CERT_DIR").is_some() {
        return None;
    }
    const BUNDLES: [&str; 3] = [
        "/etc/pki/tls/certs/ca-bundle.crt",   // Amazon Linux, Fedora, RHEL
        "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu
        "/etc/ssl/cert.pem",                  // Alpine
    ];
    BUNDLES.iter().find_map(|path| {
        let pem = std::fs::read(path).ok()?;
        let roots = reqwest::Certificate::from_pem_bundle(&pem).ok()?;
        (!roots.is_empty()).then_some(roots)
    })
}
