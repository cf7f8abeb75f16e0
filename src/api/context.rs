//! What a transport tells the application about a request beyond HTTP.

/// The one request extension a transport sets, and the only thing the application reads about
/// its transport. The Lambda transport fills it from the invocation; the local server sets
/// none, and every field then has its meaning for "none".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransportContext {
    /// The transport's id of this request (Lambda's request id), logged as
    /// `function_request_id`.
    pub request_id: Option<String>,
    /// The trace header to continue at dependencies (`x-amzn-trace-id`). Set by the transport
    /// alone, never copied from a client's header.
    pub trace_header: Option<String>,
    /// When the transport stops waiting for the answer (Lambda's invocation deadline).
    pub deadline: Option<tokio::time::Instant>,
    /// What the client's URL path had in front of the routed path (an API Gateway stage such
    /// as `/prod`, or a custom domain's base path). A redirect must put it back, or the client
    /// would be sent off the API.
    pub public_prefix: String,
}

impl TransportContext {
    /// The public prefix of `request`, `""` when its transport set none.
    pub(crate) fn public_prefix_of<B>(request: &axum::http::Request<B>) -> &str {
        request
            .extensions()
            .get::<Self>()
            .map_or("", |transport| transport.public_prefix.as_str())
    }
}
