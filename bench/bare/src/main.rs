//! The least a `lambda_http` function is, as its README shows one: `run_concurrent` over a
//! `service_fn` with one route. bench/run.sh times its cold start beside ours, so that "what
//! the function adds" is a measured difference, not a guess.
//!
//! One thread, as ours runs on classic Lambda (one invocation at a time): a multi-threaded
//! runtime would spawn its workers before the first `GET /next` and make the floor slower
//! than the function it is the floor of.

use lambda_http::{Body, Error, Request, Response, service_fn};

async fn handle(request: Request) -> Result<Response<Body>, Error> {
    let found = request.uri().path().starts_with("/calculate/");
    let response = Response::builder()
        .status(if found { 200 } else { 404 })
        .header("content-type", "application/json")
        .body(Body::from(if found { r#"{"number":7}"# } else { "{}" }))?;
    Ok(response)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::run_concurrent(service_fn(handle)).await
}
