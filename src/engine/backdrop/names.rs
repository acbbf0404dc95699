//! The vocabulary of backdrop descriptions: CSS-ish colour names, Chinese colour and preset
//! words (rewritten to English tokens before parsing), and filler words that carry no choice.

/// (name, r, g, b). Multi-word names are matched before their parts ("navy blue" before
/// "navy"); values follow CSS where CSS has the name.
pub const COLOURS: &[(&str, u8, u8, u8)] = &[
    ("white", 255, 255, 255),
    ("off white", 250, 249, 246),
    ("black", 0, 0, 0),
    ("gray", 128, 128, 128),
    ("grey", 128, 128, 128),
    ("light gray", 211, 211, 211),
    ("light grey", 211, 211, 211),
    ("dark gray", 64, 64, 64),
    ("dark grey", 64, 64, 64),
    ("charcoal", 54, 69, 79),
    ("silver", 192, 192, 192),
    ("red", 255, 0, 0),
    ("dark red", 139, 0, 0),
    ("maroon", 128, 0, 0),
    ("crimson", 220, 20, 60),
    ("coral", 255, 127, 80),
    ("salmon", 250, 128, 114),
    ("orange", 255, 165, 0),
    ("yellow", 255, 255, 0),
    ("gold", 255, 215, 0),
    ("khaki", 240, 230, 140),
    ("green", 0, 128, 0),
    ("dark green", 0, 100, 0),
    ("forest green", 34, 139, 34),
    ("lime", 0, 255, 0),
    ("olive", 128, 128, 0),
    ("mint", 152, 255, 152),
    ("teal", 0, 128, 128),
    ("cyan", 0, 255, 255),
    ("aqua", 0, 255, 255),
    ("turquoise", 64, 224, 208),
    ("blue", 0, 0, 255),
    ("navy", 0, 0, 128),
    ("navy blue", 0, 0, 128),
    ("dark blue", 0, 0, 139),
    ("midnight blue", 25, 25, 112),
    ("royal blue", 65, 105, 225),
    ("steel blue", 70, 130, 180),
    ("dodger blue", 30, 144, 255),
    ("sky blue", 135, 206, 235),
    ("light blue", 173, 216, 230),
    ("indigo", 75, 0, 130),
    ("purple", 128, 0, 128),
    ("violet", 238, 130, 238),
    ("lavender", 230, 230, 250),
    ("magenta", 255, 0, 255),
    ("fuchsia", 255, 0, 255),
    ("pink", 255, 192, 203),
    ("hot pink", 255, 105, 180),
    ("brown", 165, 42, 42),
    ("tan", 210, 180, 140),
    ("beige", 245, 245, 220),
    ("cream", 255, 253, 208),
    ("ivory", 255, 255, 240),
];

/// The RGB of a colour name, if known.
pub fn colour(name: &str) -> Option<(u8, u8, u8)> {
    COLOURS
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|&(_, r, g, b)| (r, g, b))
}

/// The name of an exact colour, for descriptions ("#1E90FF (dodger blue)").
pub fn name_of(rgb: (u8, u8, u8)) -> Option<&'static str> {
    COLOURS
        .iter()
        .find(|&&(_, r, g, b)| (r, g, b) == rgb)
        .map(|(n, ..)| *n)
}

/// Chinese words → English tokens. Longer entries first so "天蓝色" wins over "蓝色" and
/// "背景虚化" over "背景".
pub const CHINESE: &[(&str, &str)] = &[
    ("背景虚化", "blur"),
    ("摄影棚", "studio"),
    ("粉红色", "pink"),
    ("天蓝色", "sky blue"),
    ("深蓝色", "dark blue"),
    ("浅蓝色", "light blue"),
    ("海军蓝", "navy"),
    ("藏青色", "navy"),
    ("深灰色", "dark gray"),
    ("浅灰色", "light gray"),
    ("青绿色", "teal"),
    ("蓝绿色", "teal"),
    ("咖啡色", "brown"),
    ("深绿色", "dark green"),
    ("绿幕", "greenscreen"),
    ("绿屏", "greenscreen"),
    ("绿布", "greenscreen"),
    ("透明", "transparent"),
    ("模糊", "blur"),
    ("虚化", "blur"),
    ("景深", "blur"),
    ("影棚", "studio"),
    ("渐变", "gradient"),
    ("日落", "sunset"),
    ("夕阳", "sunset"),
    ("晚霞", "sunset"),
    ("纸张", "paper"),
    ("白色", "white"),
    ("黑色", "black"),
    ("红色", "red"),
    ("绿色", "green"),
    ("蓝色", "blue"),
    ("灰色", "gray"),
    ("黄色", "yellow"),
    ("紫色", "purple"),
    ("粉色", "pink"),
    ("粉红", "pink"),
    ("橙色", "orange"),
    ("橘色", "orange"),
    ("青色", "cyan"),
    ("棕色", "brown"),
    ("褐色", "brown"),
    ("金色", "gold"),
    ("银色", "silver"),
    ("米色", "beige"),
    ("深色", "dark"),
    ("暗色", "dark"),
    ("浅色", "light"),
    ("亮色", "light"),
    ("强烈", "strong"),
    ("轻微", "light"),
    ("轻度", "light"),
    ("重度", "strong"),
    ("一点", " "),
    ("白", "white"),
    ("黑", "black"),
    ("红", "red"),
    ("绿", "green"),
    ("蓝", "blue"),
    ("灰", "gray"),
    ("黄", "yellow"),
    ("紫", "purple"),
    ("到", "to"),
    ("至", "to"),
    ("强", "strong"),
    ("弱", "light"),
    ("纸", "paper"),
];

/// Chinese filler, removed after [`CHINESE`]: verbs and particles of "把背景换成…",
/// "请用…的背景".
pub const CHINESE_FILLER: &[&str] = &[
    "替换成", "替换为", "设置为", "设置成", "背景板", "背景", "换成", "换为", "改成", "改为", "变成",
    "变为", "设为", "设成", "帮我", "我的", "一个", "一张", "干净", "简洁", "效果", "颜色", "请", "把",
    "将", "的", "用", "纯", "色", "从", "为", "成", "换", "给", "我", "个", "点", "一", "下", "吧",
    "，", "。", "、", "！",
];

/// English words that carry no choice.
pub const FILLER: &[&str] = &[
    "a", "an", "the", "some", "my", "our", "your", "his", "her", "their", "please", "use",
    "using", "with", "background", "backgrounds", "backdrop", "backdrops", "bg", "behind", "me",
    "us", "clean", "simple", "plain", "solid", "pure", "flat", "color", "colour", "colored",
    "coloured", "style", "styled", "look", "looking", "nice", "new", "just", "put", "set", "make",
    "it", "in", "of", "on", "for", "as", "replace", "change", "swap", "switch", "turn", "give",
    "add", "apply", "want", "would", "like", "i", "im", "setting", "effect", "mode", "backplate",
    "professional", "wall", "tone", "toned", "shade", "something",
    "kind", "sort", "blank", "background's", "only", "everything", "except", "person", "keep",
];
