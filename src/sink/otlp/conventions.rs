//! The names a backend reads: attribute keys, the scope, span and event names. A convention's
//! spelling lives here only, so a reader finds where an attribute is named without reading the
//! derivation or the HTTP code. Where Claude Code's own telemetry has a name, it is used.

/// The instrumentation scope every request names (and the `service.name` when none is set).
pub const SCOPE: &str = "claude-session";
/// A log record's `eventName` is this followed by the hook event's name.
pub const EVENT_NAME_PREFIX: &str = "claude_session.";

// Resource.
pub const SERVICE_NAME: &str = "service.name";

// Claude Code's own names (its logs and beta traces).
pub const SESSION_ID: &str = "session.id";
pub const PROMPT_ID: &str = "prompt.id";
pub const TOOL_NAME: &str = "tool_name";
pub const TOOL_USE_ID: &str = "tool_use_id";
pub const AGENT_ID: &str = "agent_id";
pub const AGENT_TYPE: &str = "agent_type";
pub const DURATION_MS: &str = "duration_ms";
pub const SUCCESS: &str = "success";
pub const ERROR: &str = "error";
pub const PROMPT: &str = "prompt";
pub const PROMPT_LENGTH: &str = "prompt_length";

// Ours: the hook event and what its payload says.
pub const HOOK_EVENT_NAME: &str = "hook_event_name";
pub const SOURCE_APP: &str = "source_app";
pub const SOURCE: &str = "source";
pub const REASON: &str = "reason";
pub const TRIGGER: &str = "trigger";
pub const IS_INTERRUPT: &str = "is_interrupt";
pub const TOOL_INPUT: &str = "tool_input";
/// A span closed at the session's end because its own end was never recorded.
pub const UNFINISHED: &str = "unfinished";

// Span names.
pub const SPAN_SESSION: &str = "session";
pub const SPAN_SESSION_RESUMED: &str = "session (resumed)";
pub const SPAN_TURN: &str = "turn";
pub const SPAN_SUBAGENT: &str = "subagent";
/// A tool span is named for its tool; this when the payload named none.
pub const SPAN_TOOL: &str = "tool";
