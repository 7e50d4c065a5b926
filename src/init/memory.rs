//! What the init gives back once the child has run for a second (a single,
//! one-off timer in the supervising loop). Everything before that
//! (parsing the YAML, rendering, the start-up sequence) ran code and used heap
//! the supervising loop never needs again, yet it would stay resident for the
//! life of the container: the kernel maps 64 KiB around every page of program
//! text touched, and glibc keeps freed heap.
//!
//! Two things are released:
//! - the pages of the executable's read-only text, from the ELF header to the
//!   end of `.text` (`MADV_DONTNEED`). They are clean, file-backed pages: the
//!   page cache keeps them, shared with every other process of the image
//!   (health probes), and any page the loop needs later faults back in from
//!   it. Mapped executable pages are what reclaim protects hardest; unmapped,
//!   they are ordinary cache. Nothing written at run time lies in that range:
//!   relocations, the GOT and the RELRO data come after `.text`.
//! - free heap (`malloc_trim`), e.g. the parsed YAML and the child's stack.

use libc::{c_char, c_void};

unsafe extern "C" {
    /// The ELF header: the first byte of the first loaded segment (defined by
    /// the linker for every ELF output).
    static __ehdr_start: c_char;
    /// The end of the text (`.text`, `.init`, `.fini`), defined by GNU ld's
    /// default script.
    static etext: c_char;
}

/// Releases the start-up pages described above; the init keeps running
/// whatever happens (both calls are advice).
pub fn release_startup_pages() {
    let page = page_size();
    // Only the addresses of the two linker symbols are taken, never read.
    let (start, end) = (&raw const __ehdr_start as usize, &raw const etext as usize);
    // The range starts on a page (the ELF header is the start of a mapping);
    // the end is rounded down, so a page shared with whatever follows `.text`
    // is left alone.
    let start = start & !(page - 1);
    let end = end & !(page - 1);
    if end > start {
        // SAFETY: [start, end) lies in the executable's own read-only,
        // file-backed mappings, which hold nothing written since exec; for
        // such pages MADV_DONTNEED only drops this process's mapping of
        // them, and a later access reads the same bytes from the file.
        unsafe { libc::madvise(start as *mut c_void, end - start, libc::MADV_DONTNEED) };
    }
    // SAFETY: malloc_trim only returns free memory to the kernel.
    unsafe { libc::malloc_trim(0) };
}

fn page_size() -> usize {
    // SAFETY: sysconf has no memory effects.
    match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as usize,
        _ => 4096,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_text_still_runs_and_reads_the_same() {
        // Code and read-only data of this very binary, before and after:
        // the same bytes come back from the file.
        static TEXT: &str = "a constant in .rodata, read back after release";
        let before = TEXT.to_owned();
        release_startup_pages();
        assert_eq!(TEXT, before);
        assert_eq!(format!("{}", 6 * 7), "42");
    }
}
