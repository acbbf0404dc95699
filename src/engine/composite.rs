//! Compositing: the person over the backdrop in YUV 4:2:0, or alpha output for transparency.
//! Luma blends per pixel; chroma with the alpha averaged over each 2×2 block. The blend is a
//! plain straight-alpha mix in the backdrop's own space (no premultiplication), so edges get
//! no dark fringe.

use super::backdrop::blur::BlurredBackground;
use super::backdrop::{Backdrop, BackdropSpec, render};
use super::color::Matrix;
use super::{Result, YuvFrame};

enum Mode {
    /// Rendered once at output size (colour, studio, gradient, image, green screen, …).
    Static(YuvFrame),
    /// A decoded backdrop-video frame per output frame.
    Video {
        fallback: Option<YuvFrame>,
    },
    Blur(Box<BlurredBackground>),
    Transparent,
}

/// Prepared backdrop for one output size; static backdrops are rendered once.
pub struct Compositor {
    width: usize,
    height: usize,
    mode: Mode,
}

impl Compositor {
    /// Renders static backdrops (colour, studio, gradient, image) at `width`×`height`, in
    /// BT.709.
    pub fn new(backdrop: &Backdrop, width: usize, height: usize) -> Result<Self> {
        Self::with_matrix(backdrop, width, height, Matrix::Bt709)
    }

    /// Like [`new`](Self::new), rendering static backdrops in the YUV matrix `matrix` of the
    /// frames (the output's tag), so their colours decode to the RGB asked for.
    pub fn with_matrix(
        backdrop: &Backdrop,
        width: usize,
        height: usize,
        matrix: Matrix,
    ) -> Result<Self> {
        let mode = match &backdrop.spec {
            BackdropSpec::Video(_) => Mode::Video { fallback: None },
            BackdropSpec::Transparent => Mode::Transparent,
            BackdropSpec::Blur { strength } => {
                Mode::Blur(Box::new(BlurredBackground::new(*strength, width, height)))
            }
            spec => match render::render_in(spec, width, height, matrix)? {
                Some(frame) => Mode::Static(frame),
                None => unreachable!("render covers every static backdrop"),
            },
        };
        Ok(Compositor {
            width,
            height,
            mode,
        })
    }

    /// True when the pipeline must feed a frame of the backdrop video to `composite`.
    pub fn needs_video_frames(&self) -> bool {
        matches!(self.mode, Mode::Video { .. })
    }

    /// True when the output carries alpha (`frame.a` is set) instead of a backdrop.
    pub fn outputs_alpha(&self) -> bool {
        matches!(self.mode, Mode::Transparent)
    }

    /// Blend in place: `frame` becomes person over backdrop using `alpha` (one byte per pixel,
    /// 255 = person). `video_bg` is the current backdrop-video frame (same size) when
    /// `needs_video_frames`. For transparent output, sets `frame.a` instead.
    pub fn composite(&mut self, frame: &mut YuvFrame, alpha: &[u8], video_bg: Option<&YuvFrame>) {
        let (w, h) = (self.width, self.height);
        assert!(
            frame.width == w && frame.height == h && alpha.len() == w * h,
            "compositor is {w}x{h}, got a {}x{} frame and {} alpha bytes",
            frame.width,
            frame.height,
            alpha.len()
        );
        match &mut self.mode {
            Mode::Static(bg) => blend(frame, alpha, bg),
            Mode::Video { fallback } => match video_bg {
                Some(bg) if bg.width == w && bg.height == h => blend(frame, alpha, bg),
                _ => {
                    let bg = fallback.get_or_insert_with(|| {
                        tracing::warn!("no backdrop-video frame of {w}x{h} given; using black");
                        YuvFrame::new(w, h)
                    });
                    blend(frame, alpha, bg);
                }
            },
            Mode::Blur(b) => {
                b.prepare(frame, alpha);
                b.composite(frame, alpha);
            }
            Mode::Transparent => match &mut frame.a {
                Some(a) => {
                    a.clear();
                    a.extend_from_slice(alpha);
                }
                None => frame.a = Some(alpha.to_vec()),
            },
        }
    }
}

/// `(a·fg + (255−a)·bg) / 255`, rounded, exact for all 8-bit inputs.
#[inline]
fn mix(fg: u8, bg: u8, a: u32) -> u8 {
    let t = fg as u32 * a + bg as u32 * (255 - a) + 128;
    ((t + (t >> 8)) >> 8) as u8
}

/// Person (`frame`) over `bg` by `alpha`, in place.
fn blend(frame: &mut YuvFrame, alpha: &[u8], bg: &YuvFrame) {
    let w = frame.width;
    for ((p, &b), &a) in frame.y.iter_mut().zip(&bg.y).zip(alpha) {
        *p = mix(*p, b, a as u32);
    }
    let cw = w / 2;
    for cy in 0..frame.height / 2 {
        let a0 = &alpha[2 * cy * w..(2 * cy + 1) * w];
        let a1 = &alpha[(2 * cy + 1) * w..(2 * cy + 2) * w];
        let r = cy * cw..(cy + 1) * cw;
        for (((((u, v), &bu), &bv), p0), p1) in frame.u[r.clone()]
            .iter_mut()
            .zip(frame.v[r.clone()].iter_mut())
            .zip(&bg.u[r.clone()])
            .zip(&bg.v[r])
            .zip(a0.chunks_exact(2))
            .zip(a1.chunks_exact(2))
        {
            let a = (p0[0] as u32 + p0[1] as u32 + p1[0] as u32 + p1[1] as u32 + 2) >> 2;
            *u = mix(*u, bu, a);
            *v = mix(*v, bv, a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::backdrop::resolve;

    fn frame_with(w: usize, h: usize, y: u8, u: u8, v: u8) -> YuvFrame {
        let mut f = YuvFrame::new(w, h);
        f.y.fill(y);
        f.u.fill(u);
        f.v.fill(v);
        f
    }

    #[test]
    fn mix_is_exact_division_by_255() {
        for fg in [0u8, 1, 77, 128, 254, 255] {
            for bg in [0u8, 3, 128, 200, 255] {
                for a in 0..=255u32 {
                    let exact = (fg as f64 * a as f64 + bg as f64 * (255 - a) as f64) / 255.0;
                    assert!((mix(fg, bg, a) as f64 - exact).abs() <= 0.5 + 1e-9);
                }
            }
        }
    }

    #[test]
    fn person_kept_background_replaced_edges_between() {
        let (w, h) = (8, 4);
        let mut frame = frame_with(w, h, 200, 90, 170);
        // Left half person, right half background, column 3 half transparent.
        let alpha: Vec<u8> = (0..w * h)
            .map(|i| match i % w {
                0..=2 => 255,
                3 => 128,
                _ => 0,
            })
            .collect();
        let mut c = Compositor::new(&resolve("white").unwrap(), w, h).unwrap();
        assert!(!c.needs_video_frames() && !c.outputs_alpha());
        c.composite(&mut frame, &alpha, None);
        assert_eq!(&frame.y[..w], &[200, 200, 200, 217, 235, 235, 235, 235]);
        // Chroma: block of columns (0,1) person, (2,3) averages alpha to 192, the rest white.
        assert_eq!(frame.u[0], 90);
        assert_eq!(frame.u[1], 99);
        assert_eq!(&frame.u[2..4], &[128, 128]);
        assert_eq!(frame.v[1], 160);
    }

    #[test]
    fn transparent_sets_alpha_and_keeps_colour() {
        let (w, h) = (4, 2);
        let mut frame = frame_with(w, h, 50, 60, 70);
        let alpha: Vec<u8> = (0..8).map(|i| i * 30).collect();
        let mut c = Compositor::new(&resolve("transparent").unwrap(), w, h).unwrap();
        assert!(c.outputs_alpha());
        c.composite(&mut frame, &alpha, None);
        assert_eq!(frame.a.as_deref(), Some(&alpha[..]));
        assert!(frame.y.iter().all(|&y| y == 50) && frame.u.iter().all(|&u| u == 60));
        // Reuses the buffer on the next frame.
        let alpha2 = vec![7u8; 8];
        c.composite(&mut frame, &alpha2, None);
        assert_eq!(frame.a.as_deref(), Some(&alpha2[..]));
    }

    #[test]
    fn green_screen_colour() {
        let (w, h) = (4, 4);
        let mut frame = frame_with(w, h, 100, 100, 100);
        let mut c = Compositor::new(&resolve("green screen").unwrap(), w, h).unwrap();
        c.composite(&mut frame, &[0; 16], None);
        let (y, u, v) = render::rgb_to_yuv(0.0, 177.0, 64.0);
        assert_eq!(
            (frame.y[0], frame.u[0], frame.v[0]),
            (y.round() as u8, u.round() as u8, v.round() as u8)
        );
    }

    #[test]
    fn video_backdrop_uses_the_given_frame() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bg.mp4");
        std::fs::write(&p, b"x").unwrap();
        let mut c = Compositor::new(&resolve(p.to_str().unwrap()).unwrap(), 4, 2).unwrap();
        assert!(c.needs_video_frames());
        let bg = frame_with(4, 2, 99, 11, 22);
        let mut frame = frame_with(4, 2, 200, 128, 128);
        c.composite(&mut frame, &[0; 8], Some(&bg));
        assert_eq!(frame, bg);
    }

    #[test]
    fn blur_keeps_the_person_and_smooths_the_rest() {
        let (w, h) = (64, 36);
        let mut frame = YuvFrame::new(w, h);
        for (i, y) in frame.y.iter_mut().enumerate() {
            *y = if (i % w + i / w) % 2 == 0 { 30 } else { 90 };
        }
        let alpha: Vec<u8> = (0..w * h)
            .map(|i| if i % w < 20 { 255 } else { 0 })
            .collect();
        let orig = frame.clone();
        let mut c = Compositor::new(&resolve("blur").unwrap(), w, h).unwrap();
        c.composite(&mut frame, &alpha, None);
        assert_eq!(frame.y[5 * w + 3], orig.y[5 * w + 3]);
        let bgvals: Vec<u8> = (40..60).map(|x| frame.y[20 * w + x]).collect();
        assert!(bgvals.iter().all(|&v| (55..=65).contains(&v)), "{bgvals:?}");
    }
}
