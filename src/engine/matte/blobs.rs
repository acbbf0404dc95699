//! Small-blob removal on the coarse mask: 8-connected components of `p ≥ 0.5`; components
//! smaller than a fraction of the frame (stray hands of a poster, a lamp the model took for a
//! person) are erased together with their soft rim.

pub struct BlobFilter {
    labels: Vec<u32>,
    stack: Vec<u32>,
    sizes: Vec<u32>,
}

const NONE: u32 = u32::MAX;
const THRESHOLD: f32 = 0.5;

impl BlobFilter {
    pub fn new(n: usize) -> Self {
        BlobFilter {
            labels: vec![NONE; n],
            stack: Vec::with_capacity(n),
            sizes: Vec::with_capacity(64),
        }
    }

    /// Erase components of `mask` (`w`×`h`) with fewer than `min_frac·w·h` pixels ≥ 0.5.
    /// Returns how many were erased.
    pub fn remove_small(&mut self, mask: &mut [f32], w: usize, h: usize, min_frac: f32) -> usize {
        let n = w * h;
        let min_px = (min_frac.max(0.0) * n as f32).ceil() as u32;
        if min_px <= 1 || n == 0 {
            return 0;
        }
        self.labels.clear();
        self.labels.resize(n, NONE);
        self.sizes.clear();
        for start in 0..n {
            if mask[start] < THRESHOLD || self.labels[start] != NONE {
                continue;
            }
            let label = self.sizes.len() as u32;
            let mut size = 0u32;
            self.labels[start] = label;
            self.stack.clear();
            self.stack.push(start as u32);
            while let Some(i) = self.stack.pop() {
                size += 1;
                let (x, y) = (i as usize % w, i as usize / w);
                for dy in -1i32..=1 {
                    let ny = y as i32 + dy;
                    if ny < 0 || ny >= h as i32 {
                        continue;
                    }
                    for dx in -1i32..=1 {
                        let nx = x as i32 + dx;
                        if nx < 0 || nx >= w as i32 {
                            continue;
                        }
                        let j = ny as usize * w + nx as usize;
                        if self.labels[j] == NONE && mask[j] >= THRESHOLD {
                            self.labels[j] = label;
                            self.stack.push(j as u32);
                        }
                    }
                }
            }
            self.sizes.push(size);
        }
        let dropped = self.sizes.iter().filter(|&&s| s < min_px).count();
        if dropped == 0 {
            return 0;
        }
        // Erase the dropped cores, and the sub-threshold rim touching them.
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                let l = self.labels[i];
                if l != NONE {
                    if self.sizes[l as usize] < min_px {
                        mask[i] = 0.0;
                    }
                    continue;
                }
                if mask[i] == 0.0 {
                    continue;
                }
                let touches_dropped = (y.saturating_sub(1)..(y + 2).min(h)).any(|ny| {
                    (x.saturating_sub(1)..(x + 2).min(w)).any(|nx| {
                        let l = self.labels[ny * w + nx];
                        l != NONE && self.sizes[l as usize] < min_px
                    })
                });
                if touches_dropped {
                    mask[i] = 0.0;
                }
            }
        }
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_small_keeps_large() {
        let (w, h) = (20, 10);
        let mut m = vec![0.0f32; w * h];
        // Large blob: 6x6 at (1,1); small blob: 2x2 at (15,5) with a soft rim pixel.
        for y in 1..7 {
            for x in 1..7 {
                m[y * w + x] = 0.9;
            }
        }
        for y in 5..7 {
            for x in 15..17 {
                m[y * w + x] = 0.8;
            }
        }
        m[5 * w + 17] = 0.3;
        let dropped = BlobFilter::new(w * h).remove_small(&mut m, w, h, 0.05);
        assert_eq!(dropped, 1);
        assert!(m[5 * w + 15] == 0.0 && m[5 * w + 17] == 0.0);
        assert!(m[3 * w + 3] == 0.9);
    }

    #[test]
    fn diagonal_pixels_connect() {
        let (w, h) = (4, 4);
        let mut m = vec![0.0f32; 16];
        for i in 0..4 {
            m[i * w + i] = 1.0;
        }
        // 4 diagonal pixels form one 8-connected blob of 4 ≥ 25% of 16.
        assert_eq!(BlobFilter::new(16).remove_small(&mut m, w, h, 0.25), 0);
        assert_eq!(BlobFilter::new(16).remove_small(&mut m, w, h, 0.3), 1);
        assert!(m.iter().all(|&v| v == 0.0));
    }
}
