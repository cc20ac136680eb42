//! The names a backend reads: attribute keys, the scope, span and event names. A convention's
//! spelling lives here only, so a reader finds where an attribute is named without reading the
//! derivation or the HTTP code. Where Claude Code's own telemetry has a name, it is used.

/// The instrumentation scope every request names (and the `service.name` when none is set).
pub const SCOPE: &str = "claude-session";
/// A log record's `eventName` is this followed by the hook event's name.
pub const EVENT_NAME_PREFIX: &str = "claude_session.";

// Resource.
pub const SERVICE_NAME: &str = "service.name";

use crate::payload::field as wire;

// Claude Code's own names (its logs and beta traces); those that are the payload's field names
// are spelled in `payload::field`.
pub const SESSION_ID: &str = "session.id";
pub const PROMPT_ID: &str = "prompt.id";
pub const TOOL_NAME: &str = wire::TOOL_NAME;
pub const TOOL_USE_ID: &str = wire::TOOL_USE_ID;
pub const AGENT_ID: &str = wire::AGENT_ID;
pub const AGENT_TYPE: &str = wire::AGENT_TYPE;
pub const DURATION_MS: &str = wire::DURATION_MS;
pub const SUCCESS: &str = "success";
pub const ERROR: &str = wire::ERROR;
pub const PROMPT: &str = wire::PROMPT;
pub const PROMPT_LENGTH: &str = "prompt_length";

// Ours: the hook event and what its payload says.
pub const HOOK_EVENT_NAME: &str = wire::HOOK_EVENT_NAME;
pub const SOURCE_APP: &str = crate::event::record::SOURCE_APP;
pub const SOURCE: &str = wire::SOURCE;
pub const REASON: &str = wire::REASON;
pub const TRIGGER: &str = wire::TRIGGER;
pub const IS_INTERRUPT: &str = wire::IS_INTERRUPT;
pub const TOOL_INPUT: &str = wire::TOOL_INPUT;
/// A span closed at the session's end because its own end was never recorded.
pub const UNFINISHED: &str = "unfinished";

// Span names.
pub const SPAN_SESSION: &str = "session";
pub const SPAN_SESSION_RESUMED: &str = "session (resumed)";
pub const SPAN_TURN: &str = "turn";
pub const SPAN_SUBAGENT: &str = "subagent";
/// A tool span is named for its tool; this when the payload named none.
pub const SPAN_TOOL: &str = "tool";
