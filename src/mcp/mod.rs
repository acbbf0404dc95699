//! The rmcp server: tools, prompts and progress over stdio, translating backend answers into
//! what an AI assistant can act on.
