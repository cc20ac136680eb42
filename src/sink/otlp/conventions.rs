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

// Token usage (docs/usage.md): on a span of kind LLM per model under each turn and subagent, where
// Phoenix prices it (it prices LLM spans that name their model) and nothing is counted twice.
// GenAI semantic conventions; `input_tokens` counts every prompt token, cached ones included.
pub const GEN_AI_OPERATION_NAME: &str = "gen_ai.operation.name";
pub const GEN_AI_PROVIDER_NAME: &str = "gen_ai.provider.name";
pub const GEN_AI_REQUEST_MODEL: &str = "gen_ai.request.model";
pub const GEN_AI_RESPONSE_MODEL: &str = "gen_ai.response.model";
pub const GEN_AI_USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
pub const GEN_AI_USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
pub const GEN_AI_USAGE_CACHE_READ: &str = "gen_ai.usage.cache_read.input_tokens";
pub const GEN_AI_USAGE_CACHE_CREATION: &str = "gen_ai.usage.cache_creation.input_tokens";
pub const OP_CHAT: &str = "chat";
pub const PROVIDER_ANTHROPIC: &str = "anthropic";
// OpenInference; `llm.token_count.prompt` counts the cache too, its details say how much.
pub const OI_SPAN_KIND: &str = "openinference.span.kind";
pub const KIND_LLM: &str = "LLM";
pub const OI_LLM_MODEL_NAME: &str = "llm.model_name";
pub const OI_LLM_PROVIDER: &str = "llm.provider";
pub const OI_TOKENS_PROMPT: &str = "llm.token_count.prompt";
pub const OI_TOKENS_COMPLETION: &str = "llm.token_count.completion";
pub const OI_TOKENS_TOTAL: &str = "llm.token_count.total";
pub const OI_TOKENS_CACHE_READ: &str = "llm.token_count.prompt_details.cache_read";
pub const OI_TOKENS_CACHE_WRITE: &str = "llm.token_count.prompt_details.cache_write";
/// Our table's dollars (Arize AX takes them as given; Phoenix prices the tokens itself).
pub const OI_COST_TOTAL: &str = "llm.cost.total";
pub const OI_COST_PROMPT: &str = "llm.cost.prompt";
pub const OI_COST_COMPLETION: &str = "llm.cost.completion";
/// How many API responses a usage span sums.
pub const RESPONSES: &str = "claude_session.responses";
