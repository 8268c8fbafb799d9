//! Large columns with their memory mapped in ahead of use.
//!
//! A fresh allocation of hundreds of MiB is mapped in by the kernel page by page, one page
//! fault per 4 KiB on first touch. On the 2-core development machine (a virtual machine) that
//! costs 2 to 3 microseconds a page: a probe touching 812 MiB (the columns of a 5,000 x 2,500
//! panel) took 0.35 to 0.60 s. Asking the kernel to map the whole range in one call
//! (`madvise(MADV_POPULATE_WRITE)`, Linux 5.14) took 0.25 to 0.27 s, and 0.14 to 0.2 s split
//! over two threads. Inside the loaders the gain was smaller, within the machine's run-to-run
//! noise. That call is the only `unsafe` of this crate; elsewhere (or on an older kernel, which
//! refuses it) the memory is mapped in on first touch as before.
#![allow(unsafe_code)]

use std::mem::MaybeUninit;

/// `n` copies of `value`, the memory mapped in on two threads before it is written.
pub(crate) fn filled<T: Copy + Send + Sync>(n: usize, value: T) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(n);
    let spare = v.spare_capacity_mut();
    if std::mem::size_of_val(spare) < 1 << 22 {
        // Small: a thread would cost more than it saves.
        populate(spare);
    } else {
        let (a, b) = spare.split_at_mut(spare.len() / 2);
        std::thread::scope(|s| {
            s.spawn(|| populate(b));
            populate(a);
        });
    }
    v.resize(n, value);
    v
}

/// Map in the pages wholly inside `mem` (writable, contents untouched).
fn populate<T>(mem: &mut [MaybeUninit<T>]) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let start = mem.as_mut_ptr() as usize;
        let end = start + std::mem::size_of_val(mem);
        let (first, last) = (start.next_multiple_of(PAGE), end / PAGE * PAGE);
        if last > first {
            // SAFETY: the range lies inside `mem`, which this function borrows mutably, so no
            // one else uses it; MADV_POPULATE_WRITE only maps pages in (as a write to each would)
            // and changes neither the contents nor the mapping's size or protection. A refusal
            // (older kernel) is harmless: the pages then map in on first touch.
            unsafe {
                libc::madvise(first as *mut libc::c_void, last - first, libc::MADV_POPULATE_WRITE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = mem;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filled_columns_hold_their_value_whatever_their_size() {
        for n in [0usize, 1, 7, 4096, 1 << 20] {
            let v = filled(n, 7u8);
            assert_eq!((v.len(), v.iter().all(|&x| x == 7)), (n, true), "{n}");
            let v = filled(n, f64::NAN);
            assert!(v.len() == n && v.iter().all(|x| x.is_nan()), "{n}");
        }
    }
}
