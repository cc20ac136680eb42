//! Token usage on traces: under each turn span a span per model the turn used, of kind LLM, with
//! its tokens and cost; the same under each subagent span. One span per model, and the usage on
//! it alone, so a backend that sums a trace's spans counts each token once; kind LLM with the
//! model named is what Phoenix prices. Read from the transcripts by the deliverer (`usage`).

use serde_json::Value;

use super::conventions as conv;
use super::events::span_id;
use super::model::{Span, attr};
use crate::event::record;
use crate::payload::field as wire;
use crate::usage::{Cost, Ledgers, Prices, Tally, subagent_transcripts};

/// Adds the usage spans of the turns and subagents whose spans `records` closed.
pub fn add(spans: &mut Vec<Span>, records: &[Value], ledgers: &mut Ledgers, prices: &Prices) {
    let mut added = Vec::new();
    for record in records {
        fn text(v: Option<&Value>) -> Option<&str> {
            v.and_then(Value::as_str).filter(|s| !s.is_empty())
        }
        let payload = record.get(record::PAYLOAD);
        let field = |k: &str| text(payload.and_then(|p| p.get(k)));
        let (Some(session), Some(main)) = (text(record.get(record::SESSION_ID)), field(wire::TRANSCRIPT_PATH)) else {
            continue;
        };
        let event = text(record.get(record::HOOK_EVENT_TYPE)).unwrap_or_default();
        if event == "Stop"
            && let Some(prompt) = field(wire::PROMPT_ID)
        {
            let id = span_id("turn", session, prompt);
            if let Some(parent) = spans.iter().find(|s| s.id == id) {
                added.extend(for_parent(parent, session, &ledgers.get(main).turn(prompt), prices));
            }
        }
        // A subagent's span closes at its SubagentStop or at the end of the call that ran it.
        let launched = payload.and_then(|p| p.get(wire::TOOL_RESPONSE)).and_then(|r| r.get(wire::RESPONSE_AGENT_ID));
        let agent = field(wire::AGENT_ID).or(text(launched));
        if let Some(agent) = agent {
            let id = span_id("agent", session, agent);
            let Some(parent) = spans.iter().find(|s| s.id == id) else { continue };
            if added.iter().any(|s: &Span| s.parent.as_deref() == Some(id.as_str())) {
                continue;
            }
            let path = field(wire::AGENT_TRANSCRIPT_PATH)
                .map(str::to_owned)
                .or_else(|| subagent_transcripts(main).into_iter().find(|(a, _)| a == agent).map(|(_, path)| path));
            if let Some(path) = path {
                added.extend(for_parent(parent, session, &ledgers.get(&path).total(), prices));
            }
        }
    }
    spans.extend(added);
}

/// One LLM span per model of `tally`, a child of `parent` over the same time.
fn for_parent(parent: &Span, session: &str, tally: &Tally, prices: &Prices) -> Vec<Span> {
    tally
        .models
        .iter()
        .filter(|(_, m)| m.responses > 0)
        .map(|(model, m)| {
            let t = &m.tokens;
            let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            let mut attrs = vec![
                attr(conv::OI_SPAN_KIND, conv::KIND_LLM),
                attr(conv::GEN_AI_OPERATION_NAME, conv::OP_CHAT),
                attr(conv::GEN_AI_PROVIDER_NAME, conv::PROVIDER_ANTHROPIC),
                attr(conv::GEN_AI_REQUEST_MODEL, model.as_str()),
                attr(conv::GEN_AI_RESPONSE_MODEL, model.as_str()),
                attr(conv::GEN_AI_USAGE_INPUT_TOKENS, n(t.prompt())),
                attr(conv::GEN_AI_USAGE_OUTPUT_TOKENS, n(t.output)),
                attr(conv::GEN_AI_USAGE_CACHE_READ, n(t.cache_read)),
                attr(conv::GEN_AI_USAGE_CACHE_CREATION, n(t.cache_write)),
                attr(conv::OI_LLM_MODEL_NAME, model.as_str()),
                attr(conv::OI_LLM_PROVIDER, conv::PROVIDER_ANTHROPIC),
                attr(conv::OI_TOKENS_PROMPT, n(t.prompt())),
                attr(conv::OI_TOKENS_COMPLETION, n(t.output)),
                attr(conv::OI_TOKENS_TOTAL, n(t.prompt().saturating_add(t.output))),
                attr(conv::OI_TOKENS_CACHE_READ, n(t.cache_read)),
                attr(conv::OI_TOKENS_CACHE_WRITE, n(t.cache_write)),
                attr(conv::SESSION_ID, session),
                attr(conv::RESPONSES, n(m.responses)),
            ];
            let cost = Cost::of(t, m.max_prompt, prices.get(model));
            if cost.unpriced == 0 {
                let completion =
                    Cost::of(&crate::usage::Tokens { output: t.output, ..Default::default() }, 0, prices.get(model));
                attrs.push(attr(conv::OI_COST_TOTAL, cost.usd()));
                attrs.push(attr(conv::OI_COST_PROMPT, cost.usd() - completion.usd()));
                attrs.push(attr(conv::OI_COST_COMPLETION, completion.usd()));
            }
            Span {
                trace: parent.trace.clone(),
                id: span_id("llm", session, &format!("{}/{model}", parent.id)),
                parent: Some(parent.id.clone()),
                name: format!("{} {model}", conv::OP_CHAT),
                start: parent.start,
                end: parent.end,
                attrs,
                error: None,
            }
        })
        .collect()
}
