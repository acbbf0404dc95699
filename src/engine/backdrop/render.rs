//! Drawing static backdrops into YUV 4:2:0 frames at output size: solid colours, the soft
//! studio backdrop (vignetted radial gradient), two-colour and sunset gradients (blended in
//! OKLab so midpoints stay vivid), paper, and image files (scaled to cover, centre crop).
//! Smooth ramps get a triangular dither plus faint grain so H.264 does not band them.

use std::path::Path;

use super::{BackdropSpec, GREEN_SCREEN};
use crate::engine::color::Matrix;
use crate::engine::{Error, Result, YuvFrame};

/// BT.709 limited-range YUV of an RGB colour (components 0..=255, fractional allowed).
#[cfg(test)]
pub fn rgb_to_yuv(r: f32, g: f32, b: f32) -> (f32, f32, f32) {
    Matrix::Bt709.rgb_to_yuv(r, g, b)
}

/// Render a static backdrop at `w`×`h` in the YUV matrix `m` of the output, so the colours
/// decode to the RGB values asked for on any output; `None` for the kinds that are not
/// static (video, blur, transparent).
pub fn render_in(spec: &BackdropSpec, w: usize, h: usize, m: Matrix) -> Result<Option<YuvFrame>> {
    Ok(Some(match spec {
        BackdropSpec::Color { r, g, b } => solid(m, (*r, *g, *b), w, h),
        BackdropSpec::GreenScreen => solid(m, GREEN_SCREEN, w, h),
        BackdropSpec::Studio { dark } => studio(m, *dark, w, h),
        BackdropSpec::Gradient { from, to } => {
            let (a, b) = (oklab(*from), oklab(*to));
            paint(m, w, h, 1.0, |_, v| from_oklab(lerp3(a, b, smooth(v))))
        }
        BackdropSpec::Sunset => sunset(m, w, h),
        BackdropSpec::Paper => paper(m, w, h),
        BackdropSpec::Image(path) => image(m, path, w, h)?,
        BackdropSpec::Video(_) | BackdropSpec::Blur { .. } | BackdropSpec::Transparent => {
            return Ok(None);
        }
    }))
}

fn solid(m: Matrix, (r, g, b): (u8, u8, u8), w: usize, h: usize) -> YuvFrame {
    let (y, u, v) = m.rgb_to_yuv(r as f32, g as f32, b as f32);
    let mut f = YuvFrame::new(w, h);
    f.y.fill(y.round() as u8);
    f.u.fill(u.round() as u8);
    f.v.fill(v.round() as u8);
    f
}

/// Fill a frame from `rgb(u, v)` (u, v in [0,1] across width and height), two rows at a
/// time so no full-size RGB buffer is needed. `grain` is extra luma noise in code values.
fn paint(
    m: Matrix,
    w: usize,
    h: usize,
    grain: f32,
    rgb: impl Fn(f32, f32) -> [f32; 3],
) -> YuvFrame {
    let mut f = YuvFrame::new(w, h);
    let cw = w / 2;
    let (iw, ih) = (1.0 / w.max(1) as f32, 1.0 / h.max(1) as f32);
    let mut rows = vec![[0.0f32; 3]; 2 * w];
    for cy in 0..h / 2 {
        for dy in 0..2 {
            let y = 2 * cy + dy;
            for x in 0..w {
                let c = rgb((x as f32 + 0.5) * iw, (y as f32 + 0.5) * ih);
                rows[dy * w + x] = c;
                let (yy, _, _) = m.rgb_to_yuv(c[0], c[1], c[2]);
                let n = dither(x, y) + grain * (noise(x, y, 7) - 0.5) * 2.0;
                f.y[y * w + x] = (yy + n).round().clamp(0.0, 255.0) as u8;
            }
        }
        for cx in 0..cw {
            let mut s = [0.0f32; 3];
            for i in [2 * cx, 2 * cx + 1, w + 2 * cx, w + 2 * cx + 1] {
                for k in 0..3 {
                    s[k] += rows[i][k] * 0.25;
                }
            }
            let (_, u, v) = m.rgb_to_yuv(s[0], s[1], s[2]);
            let d = dither(cx + 9, cy + 5);
            f.u[cy * cw + cx] = (u + d).round().clamp(0.0, 255.0) as u8;
            f.v[cy * cw + cx] = (v - d).round().clamp(0.0, 255.0) as u8;
        }
    }
    f
}

/// Deterministic hash noise in [0,1).
fn noise(x: usize, y: usize, seed: u32) -> f32 {
    let mut h = (x as u32).wrapping_mul(0x8da6_b343)
        ^ (y as u32).wrapping_mul(0xd816_3841)
        ^ seed.wrapping_mul(0xcb1a_b31f);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2c1b_3c6d);
    h ^= h >> 12;
    h = h.wrapping_mul(0x297a_2d39);
    h ^= h >> 15;
    (h >> 8) as f32 / (1u32 << 24) as f32
}

/// Triangular dither of ±1 code value: removes banding on smooth ramps.
fn dither(x: usize, y: usize) -> f32 {
    noise(x, y, 1) + noise(x, y, 2) - 1.0
}

/// Smooth value noise at `scale` pixels per cell, in [0,1).
fn value_noise(x: f32, y: f32, scale: f32, seed: u32) -> f32 {
    let (fx, fy) = (x / scale, y / scale);
    let (x0, y0) = (fx.floor(), fy.floor());
    let (tx, ty) = (smooth(fx - x0), smooth(fy - y0));
    let (ix, iy) = (x0 as usize, y0 as usize);
    let n = |dx: usize, dy: usize| noise(ix + dx, iy + dy, seed);
    let top = n(0, 0) + tx * (n(1, 0) - n(0, 0));
    let bot = n(0, 1) + tx * (n(1, 1) - n(0, 1));
    top + ty * (bot - top)
}

fn smooth(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

fn lerp3(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [
        a[0] + t * (b[0] - a[0]),
        a[1] + t * (b[1] - a[1]),
        a[2] + t * (b[2] - a[2]),
    ]
}

/// Soft studio backdrop: bright centre a little above the middle (where a seated person's
/// head is), falling off elliptically to darker edges, with faint grain.
fn studio(m: Matrix, dark: bool, w: usize, h: usize) -> YuvFrame {
    let (centre, edge) = if dark {
        ([74.0, 78.0, 86.0], [13.0, 14.0, 17.0])
    } else {
        ([240.0, 240.0, 238.0], [150.0, 152.0, 157.0])
    };
    let (c, e) = (oklab_f(centre), oklab_f(edge));
    let aspect = w as f32 / h.max(1) as f32;
    paint(m, w, h, 0.8, move |u, v| {
        let dx = (u - 0.5) * aspect.max(1.0) / 1.1;
        let dy = (v - 0.42) * (1.0 / aspect).max(1.0);
        let d = (dx * dx + dy * dy).sqrt() / 0.85;
        from_oklab(lerp3(c, e, smooth(d).powf(0.9)))
    })
}

/// Dusk sky: indigo → plum → coral → warm gold towards the bottom, with a glow low in the
/// middle.
fn sunset(m: Matrix, w: usize, h: usize) -> YuvFrame {
    let stops = [
        (0.0, oklab((38, 32, 84))),
        (0.38, oklab((112, 56, 120))),
        (0.7, oklab((236, 112, 86))),
        (1.0, oklab((255, 196, 122))),
    ];
    let glow = oklab((255, 214, 150));
    paint(m, w, h, 0.6, move |u, v| {
        let mut c = stops[0].1;
        for pair in stops.windows(2) {
            let ((t0, a), (t1, b)) = (pair[0], pair[1]);
            if v >= t0 && v <= t1 {
                c = lerp3(a, b, smooth((v - t0) / (t1 - t0)));
            }
        }
        let d = (((u - 0.5) * 1.6).powi(2) + ((v - 1.0) * 2.2).powi(2)).sqrt();
        let g = (1.0 - d).max(0.0).powi(2) * 0.6;
        from_oklab(lerp3(c, glow, g))
    })
}

/// Warm neutral paper: off-white with faint low-frequency fibre texture and a soft vignette.
fn paper(m: Matrix, w: usize, h: usize) -> YuvFrame {
    let (centre, edge) = (oklab((240, 233, 220)), oklab((212, 202, 186)));
    let (fw, fh) = (w as f32, h as f32);
    paint(m, w, h, 0.7, move |u, v| {
        let d = (((u - 0.5) * 1.2).powi(2) + (v - 0.5).powi(2)).sqrt() / 0.75;
        let mut c = lerp3(centre, edge, smooth(d));
        let (x, y) = (u * fw, v * fh);
        let tex = value_noise(x, y, 48.0, 3) * 0.6 + value_noise(x, y * 3.0, 9.0, 4) * 0.4 - 0.5;
        c[0] += tex * 0.012;
        from_oklab(c)
    })
}

/// Load an image file, apply its EXIF orientation, scale it to cover `w`×`h` (centre crop).
fn image(m: Matrix, path: &Path, w: usize, h: usize) -> Result<YuvFrame> {
    use fast_image_resize as fir;
    use image::ImageDecoder;
    let bad = |m: String| Error::input(path, m);
    let reader = image::ImageReader::open(path)
        .map_err(|e| Error::io(path, e))?
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?;
    let mut decoder = reader.into_decoder().map_err(|e| {
        bad(format!(
            "cannot decode the backdrop image ({e}); use a png, jpg or webp file"
        ))
    })?;
    let orientation = decoder.orientation().ok();
    let mut img = image::DynamicImage::from_decoder(decoder).map_err(|e| {
        bad(format!(
            "cannot decode the backdrop image ({e}); use a png, jpg or webp file"
        ))
    })?;
    if let Some(o) = orientation {
        img.apply_orientation(o);
    }
    let rgb = img.to_rgb8();
    let (sw, sh) = rgb.dimensions();
    let src = fir::images::Image::from_vec_u8(sw, sh, rgb.into_raw(), fir::PixelType::U8x3)
        .map_err(|e| bad(format!("cannot read the backdrop image: {e}")))?;
    let mut dst = fir::images::Image::new(w as u32, h as u32, fir::PixelType::U8x3);
    let opts = fir::ResizeOptions::new()
        .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::CatmullRom))
        .fit_into_destination(Some((0.5, 0.5)));
    fir::Resizer::new()
        .resize(&src, &mut dst, &opts)
        .map_err(|e| bad(format!("cannot scale the backdrop image: {e}")))?;
    let px = dst.buffer();
    Ok(paint_rgb8_in(px, w, h, m))
}

/// Packed RGB8 (`w`×`h`) → YUV 4:2:0 in matrix `m` (chroma from the 2×2 average).
pub fn paint_rgb8_in(px: &[u8], w: usize, h: usize, m: Matrix) -> YuvFrame {
    let mut f = YuvFrame::new(w, h);
    let cw = w / 2;
    for y in 0..h {
        for x in 0..w {
            let i = 3 * (y * w + x);
            let (yy, _, _) = m.rgb_to_yuv(px[i] as f32, px[i + 1] as f32, px[i + 2] as f32);
            f.y[y * w + x] = yy.round() as u8;
        }
    }
    for cy in 0..h / 2 {
        for cx in 0..cw {
            let mut s = [0.0f32; 3];
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let i = 3 * ((2 * cy + dy) * w + 2 * cx + dx);
                for k in 0..3 {
                    s[k] += px[i + k] as f32 * 0.25;
                }
            }
            let (_, u, v) = m.rgb_to_yuv(s[0], s[1], s[2]);
            f.u[cy * cw + cx] = u.round().clamp(0.0, 255.0) as u8;
            f.v[cy * cw + cx] = v.round().clamp(0.0, 255.0) as u8;
        }
    }
    f
}

// OKLab (Björn Ottosson), on sRGB 0..255.
fn oklab((r, g, b): (u8, u8, u8)) -> [f32; 3] {
    oklab_f([r as f32, g as f32, b as f32])
}

fn oklab_f(c: [f32; 3]) -> [f32; 3] {
    let lin = |v: f32| {
        let v = v / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let (r, g, b) = (lin(c[0]), lin(c[1]), lin(c[2]));
    let l = (0.412_221_46 * r + 0.536_332_55 * g + 0.051_445_995 * b).cbrt();
    let m = (0.211_903_5 * r + 0.680_699_5 * g + 0.107_396_96 * b).cbrt();
    let s = (0.088_302_46 * r + 0.281_718_85 * g + 0.629_978_7 * b).cbrt();
    [
        0.210_454_26 * l + 0.793_617_8 * m - 0.004_072_047 * s,
        1.977_998_5 * l - 2.428_592_2 * m + 0.450_593_7 * s,
        0.025_904_037 * l + 0.782_771_77 * m - 0.808_675_77 * s,
    ]
}

fn from_oklab(c: [f32; 3]) -> [f32; 3] {
    let l = (c[0] + 0.396_337_78 * c[1] + 0.215_803_76 * c[2]).powi(3);
    let m = (c[0] - 0.105_561_346 * c[1] - 0.063_854_17 * c[2]).powi(3);
    let s = (c[0] - 0.089_484_18 * c[1] - 1.291_485_5 * c[2]).powi(3);
    let r = 4.076_741_7 * l - 3.307_711_6 * m + 0.230_969_94 * s;
    let g = -1.268_438 * l + 2.609_757_4 * m - 0.341_319_38 * s;
    let b = -0.004_196_086_3 * l - 0.703_418_6 * m + 1.707_614_7 * s;
    let enc = |v: f32| {
        let v = v.clamp(0.0, 1.0);
        255.0
            * if v <= 0.003_130_8 {
                12.92 * v
            } else {
                1.055 * v.powf(1.0 / 2.4) - 0.055
            }
    };
    [enc(r), enc(g), enc(b)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bt709_reference_values() {
        let (y, u, v) = rgb_to_yuv(255.0, 255.0, 255.0);
        assert!((y - 235.0).abs() < 0.01 && (u - 128.0).abs() < 0.01 && (v - 128.0).abs() < 0.01);
        let (y, u, v) = rgb_to_yuv(0.0, 0.0, 0.0);
        assert!((y - 16.0).abs() < 0.01 && (u - 128.0).abs() < 0.01 && (v - 128.0).abs() < 0.01);
        // Pure red in BT.709 limited: Y 63, Cb 102, Cr 240.
        let (y, u, v) = rgb_to_yuv(255.0, 0.0, 0.0);
        assert_eq!((y.round(), u.round(), v.round()), (63.0, 102.0, 240.0));
    }

    #[test]
    fn oklab_round_trips() {
        for c in [(0, 0, 128), (0, 128, 128), (255, 200, 10), (12, 34, 56)] {
            let back = from_oklab(oklab(c));
            assert!(
                (back[0] - c.0 as f32).abs() < 0.5 && (back[2] - c.2 as f32).abs() < 0.5,
                "{c:?} {back:?}"
            );
        }
    }

    #[test]
    fn studio_is_vignetted_and_light_or_dark() {
        let light = render_in(
            &BackdropSpec::Studio { dark: false },
            320,
            180,
            Matrix::Bt709,
        )
        .unwrap()
        .unwrap();
        let dark = render_in(
            &BackdropSpec::Studio { dark: true },
            320,
            180,
            Matrix::Bt709,
        )
        .unwrap()
        .unwrap();
        let mean = |f: &YuvFrame, x0: usize, y0: usize| {
            let mut s = 0u32;
            for y in y0..y0 + 10 {
                for x in x0..x0 + 10 {
                    s += f.y[y * 320 + x] as u32;
                }
            }
            s as f32 / 100.0
        };
        assert!(mean(&light, 155, 70) > 215.0 && mean(&light, 0, 0) < 180.0);
        assert!(mean(&dark, 155, 70) < 90.0 && mean(&dark, 0, 0) < 40.0);
        assert!(mean(&light, 155, 70) - mean(&light, 0, 0) > 40.0);
        // Dithered: neighbouring pixels in the flat centre are not all identical.
        let row = &light.y[75 * 320 + 140..75 * 320 + 180];
        assert!(row.windows(2).any(|p| p[0] != p[1]));
    }

    #[test]
    fn gradient_runs_top_to_bottom() {
        let f = render_in(
            &BackdropSpec::Gradient {
                from: (0, 0, 128),
                to: (0, 128, 128),
            },
            64,
            64,
            Matrix::Bt709,
        )
        .unwrap()
        .unwrap();
        // Navy: low luma, Cb high; teal: higher luma.
        assert!(
            f.y[32] < 40 && f.y[63 * 64 + 32] > 80,
            "{} {}",
            f.y[32],
            f.y[63 * 64 + 32]
        );
        assert!(f.u[0] > 160);
    }

    #[test]
    fn image_scales_to_cover_with_centre_crop() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bg.png");
        // 40x10: left quarter red, middle half white, right quarter blue.
        let img = image::RgbImage::from_fn(40, 10, |x, _| {
            if x < 10 {
                image::Rgb([255, 0, 0])
            } else if x < 30 {
                image::Rgb([255, 255, 255])
            } else {
                image::Rgb([0, 0, 255])
            }
        });
        img.save(&p).unwrap();
        // 16x16 output: cover crops the centre 10x10 → all white.
        let f = render_in(&BackdropSpec::Image(p), 16, 16, Matrix::Bt709)
            .unwrap()
            .unwrap();
        assert!(f.y.iter().all(|&y| y >= 233), "{:?}", &f.y[..16]);
        let bad = dir.path().join("bad.png");
        std::fs::write(&bad, b"not a png").unwrap();
        let e = render_in(&BackdropSpec::Image(bad), 16, 16, Matrix::Bt709)
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad.png"), "{e}");
    }
}
