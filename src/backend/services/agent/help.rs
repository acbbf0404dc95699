//! What the local agent can do, in the user's language: the list every refusal carries.

/// The local agent's abilities, English.
pub const HELP: &str = "Here is what the local editor can do: \
backgrounds (\"replace the background with a clean studio backdrop\", \"blur the background\", \
\"remove the background\", \"use beach.jpg as the background\" — an image or video you uploaded, \
\"make the background #1E90FF\"; every clip unless you name one: \"… of talk.mp4\"); \
titles (\"add the title 'Urban Dreams' for the first 3 seconds\", with top/center/bottom, \
small/large, a colour, \"with a fade\"); \
music from an audio file you uploaded (\"add the music at 35%\", \"fade in and out\", \
\"don't loop\", \"lower the music when I speak\", \"remove the music\"); \
aspect ratio (\"make it 9:16\", 16:9, 1:1, 4:5); \
trims (\"cut the first 2 seconds\", \"cut the last 3 seconds\", \"keep 0:05–0:12\"); \
clip order (\"put outro.mp4 first\", \"swap a.mp4 and b.mp4\", \"remove the intro\"). \
It cannot generate or download music or footage, change speed, or add effects or transitions.";

/// The same, Chinese.
pub const HELP_ZH: &str = "本地编辑器可以做：\
换背景（“把背景换成白色”“背景虚化”“去掉背景”“用 beach.jpg 作为背景”——你上传的图片或视频；\
不指定片段时对所有片段生效）；\
标题（“加上标题「城市之梦」，显示前3秒”，可选顶部/中间/底部、大/小、颜色、淡入淡出）；\
背景音乐（用你上传的音频文件：“添加背景音乐，音量35%”“淡入淡出”“不循环”“说话时压低音乐”“去掉音乐”）；\
画面比例（“改成9:16”、16:9、1:1、4:5）；\
剪辑（“剪掉前2秒”“剪掉最后3秒”“保留0:05到0:12”）；\
片段顺序（“把outro.mp4放到最前面”“交换a.mp4和b.mp4”“删除intro.mp4”）。\
不能生成或下载音乐和素材，不能变速，也不能加特效或转场。";

/// The list in the language of `message`.
pub fn help_for(message: &str) -> &'static str {
    if super::words::has_cjk(message) {
        HELP_ZH
    } else {
        HELP
    }
}
