//! The one image view of trn: a read-only, row-major f32 image in someone else's memory,
//! rows `stride` samples apart. The NCC search reads templates and windows through it,
//! pyramids are made of it, and the std crates' owned images lend it (`Image::view`).

use core::fmt;

/// Why a view could not be made: a zero size, `stride < width`, or too few samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ViewError;

impl fmt::Display for ViewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("image view is empty or its data is too short")
    }
}

impl core::error::Error for ViewError {}

/// A read-only view of a row-major f32 image in caller memory.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImageView<'a> {
    data: &'a [f32],
    width: usize,
    height: usize,
    stride: usize,
}

impl<'a> ImageView<'a> {
    /// A view of `width x height` pixels whose rows start every `stride` elements.
    ///
    /// # Errors
    ///
    /// [`ViewError`] for a zero size, `stride < width`, or `data` too short.
    pub fn new(
        data: &'a [f32],
        width: usize,
        height: usize,
        stride: usize,
    ) -> Result<Self, ViewError> {
        let needed = height
            .checked_sub(1)
            .and_then(|h| h.checked_mul(stride))
            .and_then(|n| n.checked_add(width));
        match needed {
            Some(n) if width > 0 && stride >= width && data.len() >= n => Ok(Self {
                data,
                width,
                height,
                stride,
            }),
            _ => Err(ViewError),
        }
    }

    /// A view of a tightly packed image (`stride == width`).
    ///
    /// # Errors
    ///
    /// As [`ImageView::new`].
    pub fn packed(data: &'a [f32], width: usize, height: usize) -> Result<Self, ViewError> {
        Self::new(data, width, height, width)
    }

    /// Width in pixels.
    #[must_use]
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    #[must_use]
    pub fn height(&self) -> usize {
        self.height
    }

    /// Row `y` (exactly `width` pixels), or an empty slice past the last row.
    #[must_use]
    pub fn row(&self, y: usize) -> &'a [f32] {
        if y >= self.height {
            return &[];
        }
        let start = y.saturating_mul(self.stride);
        self.data
            .get(start..start.saturating_add(self.width))
            .unwrap_or(&[])
    }

    /// The sub-view of `w x h` pixels whose top-left pixel is `(x, y)`.
    ///
    /// # Errors
    ///
    /// [`ViewError`] when the rectangle leaves the image or is empty.
    pub fn sub(&self, x: usize, y: usize, w: usize, h: usize) -> Result<Self, ViewError> {
        if w == 0 || h == 0 || x.saturating_add(w) > self.width || y.saturating_add(h) > self.height
        {
            return Err(ViewError);
        }
        let start = y * self.stride + x;
        let data = self.data.get(start..).ok_or(ViewError)?;
        Self::new(data, w, h, self.stride)
    }

    /// Samples from one row's start to the next's.
    #[must_use]
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// The samples, from the top-left pixel on (rows `stride` apart).
    #[must_use]
    pub fn data(&self) -> &'a [f32] {
        self.data
    }

    /// The pixel at `(x, y)`, `None` outside.
    #[must_use]
    pub fn get(&self, x: usize, y: usize) -> Option<f32> {
        if x < self.width && y < self.height {
            self.data.get(y * self.stride + x).copied()
        } else {
            None
        }
    }

    /// Bilinear value at fractional `(col, row)` (pixel centres at integers); `None`
    /// outside or next to a non-finite sample ([`crate::interp::bilinear`]).
    #[must_use]
    #[inline]
    pub fn bilinear(&self, col: f64, row: f64) -> Option<f32> {
        crate::interp::bilinear(self.data, self.width, self.height, self.stride, col, row)
    }
}
