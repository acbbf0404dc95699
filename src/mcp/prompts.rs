//! Prompts: the three "Try saying" examples, each expanded into what the assistant should do
//! with this server's tools.

use rmcp::{
    model::{PromptMessage, Role},
    prompt, prompt_router,
};

use super::server::EbcServer;

#[prompt_router(vis = "pub(super)")]
impl EbcServer {
    /// Try saying: "replace my video clips" — replace the background of the project's clips.
    #[prompt(name = "replace_my_video_clips")]
    async fn replace_my_video_clips(&self) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(
            Role::User,
            "Replace my video clips' background. If no clip is in the project yet, ask me for the \
             file paths and call upload_media with them. Then ask which backdrop I want (for \
             example a clean studio backdrop, a blur, a colour or an image) and call \
             replace_background. Show me the before/after preview and the timeline.",
        )]
    }

    /// Try saying: "export 1080p MP4" — render the timeline and save it.
    #[prompt(name = "export_1080p_mp4")]
    async fn export_1080p_mp4(&self) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(
            Role::User,
            "Export 1080p MP4. Call show_timeline to check there is something to export, then \
             call export_video with resolution \"1080p\" and quality \"high\" (ask me where to \
             save it if I have not said). If it returns status \"running\", call export_video \
             again with the job_id until it completes, then give me the saved file's path.",
        )]
    }

    /// Try saying: "replace my office background with a clean studio backdrop".
    #[prompt(name = "office_to_studio_backdrop")]
    async fn office_to_studio_backdrop(&self) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(
            Role::User,
            "Replace my office background with a clean studio backdrop. Call replace_background \
             with the instruction \"replace my office background with a clean studio backdrop\" \
             and backdrop \"clean studio backdrop\" (upload my clip with upload_media first if \
             the project is empty), then show me the preview and the timeline.",
        )]
    }
}
