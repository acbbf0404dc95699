//! Re-framing a clip onto a canvas of another shape: where the person is (a box from the
//! model's matte, in 0–1 frame coordinates), and where the clip goes on the canvas so the
//! person is whole, unstretched and centred. Pure arithmetic, no I/O.

/// The person's bounding box in the source frame, each coordinate 0–1 (x right, y down).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PersonBox {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

impl PersonBox {
    pub fn union(self, o: PersonBox) -> PersonBox {
        PersonBox {
            x0: self.x0.min(o.x0),
            y0: self.y0.min(o.y0),
            x1: self.x1.max(o.x1),
            y1: self.y1.max(o.y1),
        }
    }

    fn width(self) -> f32 {
        (self.x1 - self.x0).max(0.0)
    }

    fn height(self) -> f32 {
        (self.y1 - self.y0).max(0.0)
    }
}

/// Probability above which a model pixel counts as person.
const PERSON: f32 = 0.5;
/// A row or column belongs to the box only with at least this share of person pixels
/// across it: stray false positives (a lamp, a hand-sized blob) do not widen the box.
const MIN_SHARE: f32 = 0.02;

/// The person box of one model output (`w`×`h` probabilities, row-major, stretched over
/// the whole frame); `None` when no person is found.
pub fn person_box(probs: &[f32], w: usize, h: usize) -> Option<PersonBox> {
    if w == 0 || h == 0 || probs.len() < w * h {
        return None;
    }
    let mut cols = vec![0u32; w];
    let mut rows = vec![0u32; h];
    for y in 0..h {
        for x in 0..w {
            if probs[y * w + x] > PERSON {
                cols[x] += 1;
                rows[y] += 1;
            }
        }
    }
    // Never a single pixel, however small the model output.
    let min_col = ((h as f32 * MIN_SHARE).ceil() as u32).max(2);
    let min_row = ((w as f32 * MIN_SHARE).ceil() as u32).max(2);
    let x0 = cols.iter().position(|&c| c >= min_col)?;
    let x1 = cols.iter().rposition(|&c| c >= min_col)?;
    let y0 = rows.iter().position(|&c| c >= min_row)?;
    let y1 = rows.iter().rposition(|&c| c >= min_row)?;
    Some(PersonBox {
        x0: x0 as f32 / w as f32,
        y0: y0 as f32 / h as f32,
        x1: (x1 + 1) as f32 / w as f32,
        y1: (y1 + 1) as f32 / h as f32,
    })
}

/// Where a source frame goes on the canvas. The source is scaled (aspect kept) to
/// `scaled_w`×`scaled_h` px; the part of it inside the canvas — `layer_w`×`layer_h` px from
/// (`crop_x`, `crop_y`) of the scaled frame — lands at (`x`, `y`) on the canvas. All even.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub scaled_w: u32,
    pub scaled_h: u32,
    pub crop_x: u32,
    pub crop_y: u32,
    pub layer_w: u32,
    pub layer_h: u32,
    pub x: u32,
    pub y: u32,
}

impl Placement {
    /// True when the layer is the whole canvas (nothing around it to fill).
    pub fn covers(&self, canvas_w: u32, canvas_h: u32) -> bool {
        self.x == 0 && self.y == 0 && self.layer_w == canvas_w && self.layer_h == canvas_h
    }
}

/// Largest share of the canvas width / height the person may take after re-framing.
const MAX_PERSON_W: f32 = 0.9;
const MAX_PERSON_H: f32 = 0.9;
/// A person box reaching this low is cut by the frame's bottom edge (a seated speaker):
/// the clip is then anchored to the canvas bottom so the cut does not float mid-canvas.
const TOUCHES_BOTTOM: f32 = 0.97;

fn even_down(v: f64) -> u32 {
    ((v.max(0.0) / 2.0).floor() * 2.0) as u32
}

fn even_round(v: f64) -> u32 {
    ((v / 2.0).round() * 2.0).max(2.0) as u32
}

/// Place a `src_w`×`src_h` (displayed size) frame on a `canvas_w`×`canvas_h` canvas.
///
/// Same shape (within 1 %): scaled to the canvas. Otherwise the clip is scaled to cover the
/// canvas, then down until the person box fits in 90 % of each side (never below fitting
/// the whole frame), the person centred horizontally; vertically centred on the person, or
/// anchored to the bottom when the person is cut by the frame's bottom edge. Without a box
/// (no person found) the frame's centre stands in for it.
pub fn place(
    src_w: u32,
    src_h: u32,
    canvas_w: u32,
    canvas_h: u32,
    person: Option<PersonBox>,
) -> Placement {
    let (sw, sh) = (f64::from(src_w.max(2)), f64::from(src_h.max(2)));
    let (cw, ch) = (f64::from(canvas_w), f64::from(canvas_h));
    let full = Placement {
        scaled_w: canvas_w,
        scaled_h: canvas_h,
        crop_x: 0,
        crop_y: 0,
        layer_w: canvas_w,
        layer_h: canvas_h,
        x: 0,
        y: 0,
    };
    if ((sw / sh) / (cw / ch) - 1.0).abs() < 0.01 {
        return full;
    }
    let cover = (cw / sw).max(ch / sh);
    let fit = (cw / sw).min(ch / sh);
    let p = person.unwrap_or(PersonBox {
        x0: 0.3,
        y0: 0.2,
        x1: 0.7,
        y1: 0.8,
    });
    let mut s = cover;
    if p.width() > 0.0 {
        s = s.min(f64::from(MAX_PERSON_W) * cw / (f64::from(p.width()) * sw));
    }
    if p.height() > 0.0 {
        s = s.min(f64::from(MAX_PERSON_H) * ch / (f64::from(p.height()) * sh));
    }
    let s = s.max(fit);
    let scaled_w = even_round(sw * s);
    let scaled_h = even_round(sh * s);
    let (fw, fh) = (f64::from(scaled_w), f64::from(scaled_h));
    // Offset of the scaled frame's top-left corner on the canvas.
    let cx = f64::from(p.x0 + p.x1) / 2.0 * fw;
    let ox = cw / 2.0 - cx;
    let oy = if p.y1 >= TOUCHES_BOTTOM {
        ch - fh
    } else {
        ch / 2.0 - f64::from(p.y0 + p.y1) / 2.0 * fh
    };
    // No clamping: outside the person everything is backdrop, so the frame may leave a
    // strip of the canvas uncovered or hang over its edge.
    let x = even_down(ox.max(0.0)).min(canvas_w);
    let y = even_down(oy.max(0.0)).min(canvas_h);
    let crop_x = even_down((-ox).max(0.0));
    let crop_y = even_down((-oy).max(0.0));
    let layer_w = (scaled_w - crop_x.min(scaled_w)).min(canvas_w - x);
    let layer_h = (scaled_h - crop_y.min(scaled_h)).min(canvas_h - y);
    let layer_w = layer_w & !1;
    let layer_h = layer_h & !1;
    if layer_w < 2 || layer_h < 2 {
        return full;
    }
    Placement {
        scaled_w,
        scaled_h,
        crop_x,
        crop_y,
        layer_w,
        layer_h,
        x,
        y,
    }
}

/// The whole frame scaled to fit inside the canvas (aspect kept), centred: for clips that
/// keep their own background, whose surroundings are a blurred copy of the clip.
pub fn fit(src_w: u32, src_h: u32, canvas_w: u32, canvas_h: u32) -> Placement {
    let (sw, sh) = (f64::from(src_w.max(2)), f64::from(src_h.max(2)));
    let (cw, ch) = (f64::from(canvas_w), f64::from(canvas_h));
    let s = (cw / sw).min(ch / sh);
    let layer_w = even_round(sw * s).min(canvas_w);
    let layer_h = even_round(sh * s).min(canvas_h);
    Placement {
        scaled_w: layer_w,
        scaled_h: layer_h,
        crop_x: 0,
        crop_y: 0,
        layer_w,
        layer_h,
        x: even_down((cw - f64::from(layer_w)) / 2.0),
        y: even_down((ch - f64::from(layer_h)) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn centred_person() -> PersonBox {
        // A seated speaker in a 16:9 shot: a third of the width, cut by the bottom edge.
        PersonBox {
            x0: 0.35,
            y0: 0.2,
            x1: 0.65,
            y1: 1.0,
        }
    }

    fn check_invariants(p: &Placement, cw: u32, ch: u32) {
        for v in [
            p.scaled_w, p.scaled_h, p.crop_x, p.crop_y, p.layer_w, p.layer_h, p.x, p.y,
        ] {
            assert_eq!(v % 2, 0, "{p:?} has an odd value");
        }
        assert!(p.x + p.layer_w <= cw && p.y + p.layer_h <= ch, "{p:?}");
        assert!(p.crop_x + p.layer_w <= p.scaled_w, "{p:?}");
        assert!(p.crop_y + p.layer_h <= p.scaled_h, "{p:?}");
    }

    #[test]
    fn same_shape_fills_the_canvas() {
        let p = place(640, 360, 1920, 1080, Some(centred_person()));
        assert!(p.covers(1920, 1080));
        assert_eq!((p.scaled_w, p.scaled_h), (1920, 1080));
    }

    #[test]
    fn landscape_to_portrait_keeps_the_person_whole_centred_and_unstretched() {
        let person = centred_person();
        let p = place(1280, 720, 1080, 1920, Some(person));
        check_invariants(&p, 1080, 1920);
        // Aspect kept: the scale is the same on both axes (within rounding to even).
        let (sx, sy) = (p.scaled_w as f64 / 1280.0, p.scaled_h as f64 / 720.0);
        assert!((sx / sy - 1.0).abs() < 0.01, "stretched: {sx} vs {sy}");
        // The person's box, in canvas pixels, is inside the canvas and centred.
        let left = person.x0 as f64 * p.scaled_w as f64 - p.crop_x as f64 + p.x as f64;
        let right = person.x1 as f64 * p.scaled_w as f64 - p.crop_x as f64 + p.x as f64;
        assert!(left >= 0.0 && right <= 1080.0, "{left}..{right}");
        assert!(
            ((left + right) / 2.0 - 540.0).abs() < 4.0,
            "{left}..{right}"
        );
        // Cut at the bottom of the source → bottom of the canvas.
        assert_eq!(p.y + p.layer_h, 1920);
    }

    #[test]
    fn portrait_to_landscape_and_square_and_four_by_five() {
        let person = PersonBox {
            x0: 0.2,
            y0: 0.15,
            x1: 0.8,
            y1: 1.0,
        };
        for (cw, ch) in [(1920, 1080), (1080, 1080), (1080, 1350)] {
            let p = place(1080, 1920, cw, ch, Some(person));
            check_invariants(&p, cw, ch);
            let top = person.y0 as f64 * p.scaled_h as f64 - p.crop_y as f64 + p.y as f64;
            let bottom = person.y1 as f64 * p.scaled_h as f64 - p.crop_y as f64 + p.y as f64;
            assert!(
                top >= 0.0 && bottom <= ch as f64 + 1.0,
                "{cw}x{ch}: {top}..{bottom}"
            );
        }
    }

    #[test]
    fn an_off_centre_person_is_brought_to_the_middle() {
        let person = PersonBox {
            x0: 0.05,
            y0: 0.3,
            x1: 0.3,
            y1: 0.9,
        };
        let p = place(1920, 1080, 1080, 1920, Some(person));
        check_invariants(&p, 1080, 1920);
        let mid =
            (person.x0 + person.x1) as f64 / 2.0 * p.scaled_w as f64 - p.crop_x as f64 + p.x as f64;
        assert!((mid - 540.0).abs() < 4.0, "person centre at {mid}");
    }

    #[test]
    fn person_box_ignores_stray_pixels() {
        let (w, h) = (100, 50);
        let mut probs = vec![0.0f32; w * h];
        for y in 10..50 {
            for x in 40..60 {
                probs[y * w + x] = 0.9;
            }
        }
        probs[3 * w + 2] = 1.0; // a lone false positive
        let b = person_box(&probs, w, h).unwrap();
        assert_eq!((b.x0, b.x1), (0.4, 0.6));
        assert_eq!((b.y0, b.y1), (0.2, 1.0));
        assert!(person_box(&vec![0.0; w * h], w, h).is_none());
    }
}
