//! SDK errors, classified by kind. The original `SdkError` is kept as the `source()` of the
//! lifeboat error, never flattened into a string.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use lifeboat_core::{Error, ErrorKind};

const THROTTLED: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "BandwidthLimitExceeded",
    "SlowDown",
    "PriorRequestNotComplete",
];

const ACCESS_DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "NotAuthorized",
    "AuthorizationError",
    "AuthFailure",
    "SignatureDoesNotMatch",
    "MissingAuthenticationToken",
    "IncompleteSignature",
];

const TRANSIENT: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "InternalServiceError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "Unavailable",
    "RequestTimeout",
    "RequestTimeoutException",
    "ServiceFailure",
    "InternalServerException",
    "EndpointTemporarilyUnavailableException",
    "ServerException",
    "ScalingActivityInProgress",
    "ResourceContention",
];

const PRECONDITION: &[&str] = &[
    "ConflictException",
    "ConditionalCheckFailedException",
    "ResourceInUseException",
    "TaskTimedOut",
    "StateMachineDeleting",
    "InvalidChangeBatchState",
    "ServiceNotActiveException",
    // RDS: the instance is busy (modifying, rebooting, ...); its fault is InvalidDBInstanceStateFault
    "InvalidDBInstanceState",
];

/// The kind of a service error, from its code (first) and HTTP status (fallback).
pub fn kind_of(code: Option<&str>, status: u16) -> ErrorKind {
    if let Some(code) = code {
        if THROTTLED.contains(&code) {
            return ErrorKind::Throttled;
        }
        if ACCESS_DENIED.contains(&code) {
            return ErrorKind::AccessDenied;
        }
        if TRANSIENT.contains(&code) {
            return ErrorKind::Transient;
        }
        if code.contains("NotFound") || code.contains("DoesNotExist") || code.starts_with("NoSuch")
        {
            return ErrorKind::NotFound;
        }
        if PRECONDITION.contains(&code)
            || code.contains("AlreadyExists")
            || code.contains("StateFault")
            || code.starts_with("InvalidState")
        {
            return ErrorKind::PreconditionFailed;
        }
        if code.starts_with("Invalid")
            || code.starts_with("Validation")
            || code.starts_with("Missing")
            || code.starts_with("Malformed")
            || code == "SerializationException"
        {
            return ErrorKind::InvalidInput;
        }
    }
    match status {
        429 => ErrorKind::Throttled,
        401 | 403 => ErrorKind::AccessDenied,
        404 => ErrorKind::NotFound,
        409 | 412 => ErrorKind::PreconditionFailed,
        400 | 413 | 422 => ErrorKind::InvalidInput,
        500..=599 => ErrorKind::Transient,
        _ => ErrorKind::Internal,
    }
}

/// Classify an SDK error from `operation`, keeping it as the source.
pub fn classify<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (kind, message) = match &err {
        SdkError::ServiceError(se) => {
            let code = se.err().code();
            let status = se.raw().status().as_u16();
            let kind = kind_of(code, status);
            let message = format!(
                "{operation}: {} (HTTP {status}): {}",
                code.unwrap_or("unknown error"),
                se.err().message().unwrap_or("no message")
            );
            (kind, message)
        }
        SdkError::TimeoutError(_) => (ErrorKind::Transient, format!("{operation}: timed out")),
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => (
            ErrorKind::Transient,
            format!("{operation}: {}", DisplayErrorContext(&err)),
        ),
        SdkError::ConstructionFailure(_) => (
            ErrorKind::InvalidInput,
            format!(
                "{operation}: request could not be built: {}",
                DisplayErrorContext(&err)
            ),
        ),
        _ => (
            ErrorKind::Internal,
            format!("{operation}: {}", DisplayErrorContext(&err)),
        ),
    };
    Error::with_source(kind, message, err)
}

/// Error metadata as a real response would carry it (for mocked modeled errors in tests).
#[cfg(test)]
pub(crate) fn test_meta(code: &str) -> aws_smithy_types::error::ErrorMetadata {
    aws_smithy_types::error::ErrorMetadata::builder()
        .code(code)
        .message("mocked")
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds() {
        let cases = [
            ("ThrottlingException", 400, ErrorKind::Throttled),
            ("Throttling", 400, ErrorKind::Throttled),
            ("PriorRequestNotComplete", 400, ErrorKind::Throttled),
            ("AccessDeniedException", 400, ErrorKind::AccessDenied),
            ("AuthorizationError", 403, ErrorKind::AccessDenied),
            ("ParameterNotFound", 400, ErrorKind::NotFound),
            ("GlobalClusterNotFoundFault", 404, ErrorKind::NotFound),
            ("ExecutionDoesNotExist", 400, ErrorKind::NotFound),
            ("NoSuchHostedZone", 404, ErrorKind::NotFound),
            (
                "InvalidGlobalClusterStateFault",
                400,
                ErrorKind::PreconditionFailed,
            ),
            (
                "InvalidDBClusterStateFault",
                400,
                ErrorKind::PreconditionFailed,
            ),
            ("InvalidDBInstanceState", 400, ErrorKind::PreconditionFailed),
            ("ParameterAlreadyExists", 400, ErrorKind::PreconditionFailed),
            ("ExecutionAlreadyExists", 400, ErrorKind::PreconditionFailed),
            ("InvalidParameterCombination", 400, ErrorKind::InvalidInput),
            ("InvalidParameterValue", 400, ErrorKind::InvalidInput),
            ("ValidationException", 400, ErrorKind::InvalidInput),
            ("InvalidArn", 400, ErrorKind::InvalidInput),
            ("ServiceUnavailable", 503, ErrorKind::Transient),
            ("InternalFailure", 500, ErrorKind::Transient),
            ("SomethingNew", 503, ErrorKind::Transient),
            ("SomethingNew", 429, ErrorKind::Throttled),
            ("SomethingNew", 418, ErrorKind::Internal),
        ];
        for (code, status, want) in cases {
            assert_eq!(kind_of(Some(code), status), want, "{code} {status}");
        }
        assert_eq!(kind_of(None, 502), ErrorKind::Transient);
        assert_eq!(kind_of(None, 403), ErrorKind::AccessDenied);
    }
}
