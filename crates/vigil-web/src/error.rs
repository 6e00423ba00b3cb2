//! Errors as responses: a page gets a short HTML message (or a redirect to sign in), the API
//! a JSON body `{"error": code, "message": text}`. Internal failures are logged in full and
//! shown only as "internal error".

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A request that cannot be answered as asked.
#[derive(Debug)]
pub struct WebError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code: `sign-in-required`, `forbidden`, `not-found`, `csrf`, `bad-request`,
    /// `too-large`, `too-many-attempts`, `internal`.
    pub code: &'static str,
    /// For a person.
    pub message: String,
    /// Answer as the API does (JSON) rather than as a page.
    pub api: bool,
}

impl WebError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>, api: bool) -> Self {
        WebError {
            status,
            code,
            message: message.into(),
            api,
        }
    }

    /// Not signed in.
    pub fn sign_in(api: bool) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "sign-in-required",
            "sign in first",
            api,
        )
    }

    /// Signed in, but the role does not allow it.
    pub fn forbidden(api: bool) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "your role does not allow this",
            api,
        )
    }

    /// Missing, or not visible to this user (the same answer, so ids cannot be probed).
    pub fn not_found(api: bool) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "no such thing here",
            api,
        )
    }

    /// A state-changing request without the session's CSRF token.
    pub fn csrf(api: bool) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "the request did not carry this session's token (reload the page and try again)",
            api,
        )
    }

    /// Malformed input.
    pub fn bad_request(message: impl Into<String>, api: bool) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", message, api)
    }

    /// A field or part longer than its bound (413, naming what was too long).
    pub fn too_large(message: impl Into<String>, api: bool) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", message, api)
    }

    /// Sign-in refused for now.
    pub fn too_many(message: impl Into<String>, api: bool) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-attempts",
            message,
            api,
        )
    }

    /// Something failed on our side; logged, not shown.
    pub fn internal(e: impl std::fmt::Display, api: bool) -> Self {
        tracing::error!(error = %e, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
            api,
        )
    }
}

impl From<vigil_store::CatalogError> for WebError {
    fn from(e: vigil_store::CatalogError) -> Self {
        WebError::internal(e, false)
    }
}

impl From<vigil_core::CoreError> for WebError {
    fn from(e: vigil_core::CoreError) -> Self {
        WebError::internal(e, false)
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if self.api {
            let body = serde_json::json!({ "error": self.code, "message": self.message });
            return (self.status, axum::Json(body)).into_response();
        }
        if self.code == "sign-in-required" {
            return (StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response();
        }
        let page = crate::pages::error_page(self.status, &self.message);
        (self.status, page).into_response()
    }
}
