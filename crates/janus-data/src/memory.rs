//! Large columns and their memory.
//!
//! A fresh allocation of hundreds of MiB is mapped in by the kernel page by page, one page
//! fault per 4 KiB on first touch. On the 2-core development machine (a virtual machine) that
//! costs 2 to 3 microseconds a page: touching 763 MiB (eight columns of 12.5 million cells)
//! took 0.51 to 0.57 s. Asking the kernel to map a range in with one call
//! (`madvise(MADV_POPULATE_WRITE)`, Linux 5.14) took 0.31 to 0.35 s, and 0.35 to 0.45 s split
//! over two threads: mapping in does not get faster on two threads at once. So the direct
//! readers take their panel's columns zeroed and not mapped in ([`zeroed`]) and map them in on
//! a thread of their own while the workers fill them ([`Span::map_in`]), which hides most of
//! that time behind the parsing. On an older kernel, or elsewhere than Linux, the call is
//! refused or skipped and the memory is mapped in on first touch.
//!
//! The `madvise` call and the zeroed allocation are this crate's only `unsafe`.
#![allow(unsafe_code)]

/// `n` copies of `value`, the memory mapped in with one call before it is written.
pub(crate) fn filled<T: Copy>(n: usize, value: T) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(n);
    let spare = v.spare_capacity_mut();
    map_in(spare.as_mut_ptr() as usize, std::mem::size_of_val(spare));
    v.resize(n, value);
    v
}

/// Where a column's memory is, to map parts of it in while others use it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    start: usize,
    size: usize,
    len: usize,
}

impl Span {
    pub(crate) fn of<T>(v: &[T]) -> Span {
        Span { start: v.as_ptr() as usize, size: std::mem::size_of::<T>(), len: v.len() }
    }

    /// Map in the pages wholly inside elements `range` (cut to the column's length).
    ///
    /// Mapping in reads and writes nothing, so other threads may use the memory meanwhile: a
    /// page one of them touches first is simply mapped in by its own page fault.
    pub(crate) fn map_in(&self, range: std::ops::Range<usize>) {
        let (from, to) = (range.start.min(self.len), range.end.min(self.len));
        if to > from {
            map_in(self.start + from * self.size, (to - from) * self.size);
        }
    }
}

/// Map in the pages wholly inside the `len` bytes at address `start` (writable, contents
/// untouched), which the caller has allocated.
fn map_in(start: usize, len: usize) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let (first, last) = (start.next_multiple_of(PAGE), (start + len) / PAGE * PAGE);
        if last > first {
            // SAFETY: the range lies inside memory the caller allocated; MADV_POPULATE_WRITE
            // only maps pages in (as a write to each would) and changes neither the contents
            // nor the mapping's size or protection, so it races with no read or write. A
            // refusal (older kernel) is harmless: the pages then map in on first touch.
            unsafe {
                libc::madvise(first as *mut libc::c_void, last - first, libc::MADV_POPULATE_WRITE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (start, len);
}

/// A type for which all-zero bytes are a valid value: zero, `0.0`, `Price32::ZERO`.
///
/// # Safety
/// Only for types whose every field is an integer or a float.
pub(crate) unsafe trait Zeroable: Copy {}
// SAFETY: integers and floats.
unsafe impl Zeroable for u8 {}
unsafe impl Zeroable for f64 {}
unsafe impl Zeroable for janus_core::Price32 {}

/// `n` zeros, not yet mapped in: a large allocation comes fresh from the kernel, zeroed, and
/// is mapped in by its first touch or by [`Span::map_in`]; no one writes the zeros.
pub(crate) fn zeroed<T: Zeroable>(n: usize) -> Vec<T> {
    let Ok(layout) = std::alloc::Layout::array::<T>(n) else {
        // More than the address space holds: `Vec` panics as it always does.
        return Vec::with_capacity(n);
    };
    if layout.size() == 0 {
        return Vec::new();
    }
    // SAFETY: `layout` has a non-zero size; the memory is zeroed, which is a valid `T`
    // (`Zeroable`), so all `n` elements are initialised; `Vec` frees it with
    // `Layout::array::<T>(n)`, the layout it was allocated with.
    unsafe {
        let ptr = std::alloc::alloc_zeroed(layout) as *mut T;
        if ptr.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        Vec::from_raw_parts(ptr, n, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use janus_core::Price32;

    #[test]
    fn filled_columns_hold_their_value_whatever_their_size() {
        for n in [0usize, 1, 7, 4096, 1 << 20] {
            let v = filled(n, 7u8);
            assert_eq!((v.len(), v.iter().all(|&x| x == 7)), (n, true), "{n}");
            let v = filled(n, f64::NAN);
            assert!(v.len() == n && v.iter().all(|x| x.is_nan()), "{n}");
        }
    }

    #[test]
    fn zeroed_columns_are_zeros_whatever_their_size() {
        for n in [0usize, 1, 7, 4096, 1 << 20, 3 << 20] {
            let v: Vec<Price32> = zeroed(n);
            assert_eq!((v.len(), v.iter().all(|&x| x == Price32::ZERO)), (n, true), "{n}");
            let v: Vec<f64> = zeroed(n);
            assert!(v.len() == n && v.iter().all(|x| x.to_bits() == 0), "{n}");
            let mut v: Vec<u8> = zeroed(n);
            assert!(v.len() == n && v.iter().all(|&x| x == 0), "{n}");
            // The column is an ordinary vector: it grows and frees as one.
            v.push(1);
            assert_eq!(v.last(), Some(&1));
        }
    }

    #[test]
    fn mapping_in_changes_no_value_and_stays_inside_the_column() {
        let mut v: Vec<f64> = zeroed(1 << 20);
        for (i, x) in v.iter_mut().enumerate().step_by(4099) {
            *x = i as f64;
        }
        let span = Span::of(&v);
        for (from, to) in [(0, 10), (5000, 600_000), (1_000_000, 2_000_000), (0, usize::MAX), (7, 3)] {
            span.map_in(from..to);
        }
        assert!(v.iter().enumerate().all(|(i, x)| *x == if i % 4099 == 0 { i as f64 } else { 0.0 }));
        Span::of::<u8>(&[]).map_in(0..100);
    }
}
