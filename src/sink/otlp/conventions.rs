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

// OpenTelemetry GenAI semantic conventions (semantic-conventions v1.41, now kept in
// open-telemetry/semantic-conventions-genai; status Development). docs/otlp-semantics.md says
// which span carries which.
pub const GEN_AI_OPERATION_NAME: &str = "gen_ai.operation.name";
pub const GEN_AI_PROVIDER_NAME: &str = "gen_ai.provider.name";
pub const GEN_AI_CONVERSATION_ID: &str = "gen_ai.conversation.id";
pub const GEN_AI_AGENT_NAME: &str = "gen_ai.agent.name";
pub const GEN_AI_AGENT_ID: &str = "gen_ai.agent.id";
pub const GEN_AI_WORKFLOW_NAME: &str = "gen_ai.workflow.name";
pub const GEN_AI_TOOL_NAME: &str = "gen_ai.tool.name";
pub const GEN_AI_TOOL_CALL_ID: &str = "gen_ai.tool.call.id";
pub const GEN_AI_TOOL_TYPE: &str = "gen_ai.tool.type";
pub const GEN_AI_TOOL_CALL_ARGUMENTS: &str = "gen_ai.tool.call.arguments";
pub const GEN_AI_TOOL_CALL_RESULT: &str = "gen_ai.tool.call.result";
pub const GEN_AI_INPUT_MESSAGES: &str = "gen_ai.input.messages";
pub const GEN_AI_OUTPUT_MESSAGES: &str = "gen_ai.output.messages";
// Their values.
pub const OP_INVOKE_AGENT: &str = "invoke_agent";
/// A turn is the agent's step, not an agent: Datadog shows it as a workflow, Langfuse as a span.
pub const OP_INVOKE_WORKFLOW: &str = "invoke_workflow";
pub const OP_EXECUTE_TOOL: &str = "execute_tool";
pub const PROVIDER_ANTHROPIC: &str = "anthropic";
/// A tool the client (Claude Code) runs with the model's arguments.
pub const TOOL_TYPE_FUNCTION: &str = "function";
/// An MCP server's tool: it reaches outside the client.
pub const TOOL_TYPE_EXTENSION: &str = "extension";
/// What Claude Code's MCP tools' names start with.
pub const MCP_TOOL_PREFIX: &str = "mcp__";
/// `gen_ai.agent.name` of the session's own agent.
pub const AGENT_CLAUDE_CODE: &str = "claude-code";
/// `gen_ai.workflow.name` of a turn.
pub const WORKFLOW_TURN: &str = "turn";

// OpenInference (Arize; read by Phoenix, and by MLflow before the GenAI names). `session.id` is
// [`SESSION_ID`], the same key as Claude Code's.
pub const OI_SPAN_KIND: &str = "openinference.span.kind";
pub const OI_INPUT_VALUE: &str = "input.value";
pub const OI_INPUT_MIME_TYPE: &str = "input.mime_type";
pub const OI_OUTPUT_VALUE: &str = "output.value";
pub const OI_OUTPUT_MIME_TYPE: &str = "output.mime_type";
pub const OI_TOOL_NAME: &str = "tool.name";
pub const OI_TOOL_ID: &str = "tool.id";
pub const OI_AGENT_NAME: &str = "agent.name";
// Their values.
pub const KIND_AGENT: &str = "AGENT";
pub const KIND_CHAIN: &str = "CHAIN";
pub const KIND_TOOL: &str = "TOOL";
pub const MIME_TEXT: &str = "text/plain";
pub const MIME_JSON: &str = "application/json";

// Token usage (docs/usage.md): on a span of kind LLM per model under each turn and subagent, where
// Phoenix prices it (it prices LLM spans that name their model) and nothing is counted twice.
// GenAI names; `input_tokens` counts every prompt token, cached ones included.
pub const GEN_AI_REQUEST_MODEL: &str = "gen_ai.request.model";
pub const GEN_AI_RESPONSE_MODEL: &str = "gen_ai.response.model";
pub const GEN_AI_USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
pub const GEN_AI_USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
pub const GEN_AI_USAGE_CACHE_READ: &str = "gen_ai.usage.cache_read.input_tokens";
pub const GEN_AI_USAGE_CACHE_CREATION: &str = "gen_ai.usage.cache_creation.input_tokens";
pub const OP_CHAT: &str = "chat";
// OpenInference; `llm.token_count.prompt` counts the cache too, its details say how much.
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
