//! Where a build's CPU time goes, by kind of thread: what limits the build.
//!
//! An ingest runs in several kinds of threads: newsindex's own (reading, parsing, tagging,
//! splitting passages), tantivy's indexing threads (analysis, postings, and writing each
//! segment), its merge threads and its doc store compressor. When one kind is busy all the
//! time while the others wait, that kind sets the pace, and making the others faster changes
//! nothing. A sampler reads every thread's CPU time from `/proc/self/task` every
//! [`PERIOD`] while the build runs (Linux only); a thread that ends between two samples loses
//! what it used since the last one (at most a period), so the figures are lower bounds. Only
//! CPU used after sampling starts counts: a thread that was already running (the main thread,
//! which warmed the page cache just before) counts from its first sample.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

/// How often threads are sampled.
pub const PERIOD: Duration = Duration::from_millis(50);

/// The sampler's own name: it is left out of the figures.
const SAMPLER: &str = "ni-cpu-sampler";

/// CPU time of one kind of thread over a build.
#[derive(Debug, Clone, Serialize)]
pub struct ThreadGroupCpu {
    /// `newsindex preparing`, `newsindex other`, `tantivy indexing`, `tantivy merging`,
    /// `tantivy doc store`, `tantivy other`.
    pub group: String,
    /// Distinct threads seen.
    pub threads: usize,
    /// Most threads of the group alive at once.
    pub concurrent: usize,
    /// CPU seconds (user + system) summed over the group's threads.
    pub cpu_seconds: f64,
    /// `cpu_seconds` over the wall time: the cores the group kept busy on average.
    pub cores: f64,
    /// `cores` over `concurrent`: 1.0 means its threads never waited.
    pub busy: f64,
}

/// CPU seconds of every group together: a whole build's CPU.
pub fn total_cpu_seconds(groups: &[ThreadGroupCpu]) -> f64 {
    groups.iter().map(|g| g.cpu_seconds).sum()
}

/// The group of a thread, by its name: newsindex's preparing threads (read, parse, tag, split:
/// `index::writer` names them), tantivy's threads by the names tantivy gives them, and the
/// rest of newsindex (the thread that hands documents to tantivy and keeps the ingest's
/// records, the walk), which keep the program's name.
fn group_of(comm: &str) -> &'static str {
    if comm.starts_with(crate::index::writer::PREP_THREAD_PREFIX) {
        "newsindex preparing"
    } else if comm.starts_with("thrd-tantivy-in") {
        "tantivy indexing"
    } else if comm.starts_with("merge_thread") {
        "tantivy merging"
    } else if comm.starts_with("docstore") {
        "tantivy doc store"
    } else if comm.starts_with("segment_update") || comm.starts_with("thrd-tantivy") {
        "tantivy other"
    } else {
        "newsindex other"
    }
}

/// Samples this process's threads until [`CpuSampler::finish`].
pub struct CpuSampler {
    stop: Arc<AtomicBool>,
    started: Instant,
    handle: Option<JoinHandle<Samples>>,
}

#[derive(Default)]
struct Samples {
    /// tid -> (name, CPU ticks at the first sample, latest CPU ticks).
    threads: HashMap<u32, (String, u64, u64)>,
    /// Whether a sample was taken: threads alive before it count from their ticks then.
    started: bool,
    /// group -> most threads seen alive at once.
    concurrent: HashMap<&'static str, usize>,
}

impl Samples {
    fn take(&mut self) {
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return;
        };
        let mut seen = Vec::new();
        for t in tasks.flatten() {
            let Some(tid) = t.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else {
                continue;
            };
            if let Some((comm, ticks)) = parse_stat(&stat) {
                if comm != SAMPLER {
                    seen.push((tid, comm.to_string(), ticks));
                }
            }
        }
        self.record(seen);
    }

    /// Records one sample: each live thread's id, name and CPU ticks.
    fn record(&mut self, seen: Vec<(u32, String, u64)>) {
        let mut alive: HashMap<&'static str, usize> = HashMap::new();
        for (tid, comm, ticks) in seen {
            // A new thread names itself once it runs, so its first sample may show the name of
            // the thread that spawned it (tantivy's indexing thread starts each segment's doc
            // store thread): it counts towards its group's threads alive at once from its
            // second sample on, under its own name by then.
            let known = self.threads.contains_key(&tid);
            if known {
                *alive.entry(group_of(&comm)).or_default() += 1;
            }
            // A thread born after sampling started used its CPU within it; one alive before
            // counts from now.
            let first = if self.started { 0 } else { ticks };
            let e = self
                .threads
                .entry(tid)
                .or_insert((String::new(), first, first));
            e.0 = comm;
            e.2 = e.2.max(ticks);
        }
        self.started = true;
        for (g, n) in alive {
            let c = self.concurrent.entry(g).or_default();
            *c = (*c).max(n);
        }
    }
}

/// A thread's name and CPU ticks (user + system) from its `/proc/.../stat` line. The name is
/// in parentheses and may hold spaces; the fields after it are numbered from the state (3).
fn parse_stat(stat: &str) -> Option<(&str, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = &stat[open + 1..close];
    let mut rest = stat[close + 1..].split_whitespace();
    // Fields 14 (utime) and 15 (stime); `rest` starts at field 3.
    let utime: u64 = rest.nth(11)?.parse().ok()?;
    let stime: u64 = rest.next()?.parse().ok()?;
    Some((comm, utime + stime))
}

impl CpuSampler {
    /// Starts sampling; None where threads cannot be read (not Linux).
    pub fn start() -> Option<CpuSampler> {
        if !std::path::Path::new("/proc/self/task").is_dir() {
            return None;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        // The first sample, before `start` returns: whatever runs after it counts in full.
        let mut s = Samples::default();
        s.take();
        let handle = std::thread::Builder::new()
            .name(SAMPLER.into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    s.take();
                    std::thread::sleep(PERIOD);
                }
                s.take();
                s
            })
            .ok()?;
        Some(CpuSampler {
            stop,
            started: Instant::now(),
            handle: Some(handle),
        })
    }

    /// Stops sampling; the groups, the busiest first.
    pub fn finish(self) -> Vec<ThreadGroupCpu> {
        let (wall, threads, concurrent) = self.finish_threads();
        let mut groups: HashMap<&'static str, (usize, f64)> = HashMap::new();
        for (comm, cpu) in &threads {
            let g = groups.entry(group_of(comm)).or_default();
            g.0 += 1;
            g.1 += cpu;
        }
        let mut out: Vec<ThreadGroupCpu> = groups
            .into_iter()
            .map(|(group, (threads, cpu_seconds))| {
                let concurrent = concurrent.get(group).copied().unwrap_or(1).max(1);
                let cores = cpu_seconds / wall;
                ThreadGroupCpu {
                    group: group.to_string(),
                    threads,
                    concurrent,
                    cpu_seconds,
                    cores,
                    busy: cores / concurrent as f64,
                }
            })
            .collect();
        out.sort_by(|a, b| b.busy.total_cmp(&a.busy));
        out
    }

    /// Stops sampling: the wall time, each thread's name and CPU seconds, and the most
    /// threads of each group alive at once.
    fn finish_threads(mut self) -> (f64, Vec<(String, f64)>, HashMap<&'static str, usize>) {
        let wall = self.started.elapsed().as_secs_f64().max(1e-9);
        self.stop.store(true, Ordering::Relaxed);
        let Some(samples) = self.handle.take().and_then(|h| h.join().ok()) else {
            return (wall, Vec::new(), HashMap::new());
        };
        let tick = clock_ticks_per_second();
        let threads = samples
            .threads
            .into_values()
            .map(|(comm, first, latest)| (comm, (latest - first) as f64 / tick))
            .collect();
        (wall, threads, samples.concurrent)
    }
}

impl Drop for CpuSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(unix)]
fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

#[cfg(not(unix))]
fn clock_ticks_per_second() -> f64 {
    100.0
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_give_name_and_cpu_ticks() {
        // A real line's shape: the name may hold spaces and parentheses.
        let line = "4242 (thrd-tantivy-in) R 1 2 3 4 5 6 7 8 9 10 1234 56 0 0 20 0 7 0 99";
        assert_eq!(parse_stat(line), Some(("thrd-tantivy-in", 1290)));
        let odd = "7 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 5 6 0 0";
        assert_eq!(parse_stat(odd), Some(("a (b) c", 11)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn a_new_thread_showing_its_parents_name_is_not_counted_in_the_parents_group() {
        let mut s = Samples::default();
        let t = |tid, name: &str, ticks| (tid, name.to_string(), ticks);
        s.record(vec![t(1, "thrd-tantivy-in", 10)]);
        // Thread 2 was just spawned by the indexing thread and has not named itself yet.
        s.record(vec![
            t(1, "thrd-tantivy-in", 20),
            t(2, "thrd-tantivy-in", 0),
        ]);
        s.record(vec![
            t(1, "thrd-tantivy-in", 30),
            t(2, "docstore-compre", 5),
        ]);
        assert_eq!(s.concurrent.get("tantivy indexing"), Some(&1));
        assert_eq!(s.concurrent.get("tantivy doc store"), Some(&1));
        assert_eq!(s.threads[&2], ("docstore-compre".to_string(), 0, 5));
        // Thread 1 was alive at the first sample: its CPU counts from then (10 ticks), not
        // from its start (the main thread warms the page cache before a build).
        assert_eq!(s.threads[&1], ("thrd-tantivy-in".to_string(), 10, 30));
        // Two threads of one group seen twice each are two at once.
        s.record(vec![t(1, "thrd-tantivy-in", 40), t(3, "merge_thread_0", 1)]);
        s.record(vec![t(3, "merge_thread_0", 2), t(4, "merge_thread_1", 1)]);
        s.record(vec![t(3, "merge_thread_0", 3), t(4, "merge_thread_1", 2)]);
        assert_eq!(s.concurrent.get("tantivy merging"), Some(&2));
    }

    /// This thread's CPU time.
    fn thread_cpu_seconds() -> f64 {
        crate::index::writer::thread_cpu_ns().expect("a thread CPU clock") as f64 / 1e9
    }

    #[test]
    fn a_busy_thread_is_seen_busy_and_an_idle_one_idle() {
        let Some(sampler) = CpuSampler::start() else {
            return; // not Linux
        };
        // Names of their own: other tests run threads of their own meanwhile.
        let spin = std::thread::Builder::new()
            .name("ni-test-spin".into())
            .spawn(|| {
                // 400 ms of its own CPU time, however busy the machine is.
                let mut x = 0u64;
                while thread_cpu_seconds() < 0.4 {
                    for _ in 0..10_000 {
                        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
                    }
                }
                x
            })
            .unwrap();
        let idle = std::thread::Builder::new()
            .name("ni-test-idle".into())
            .spawn(|| std::thread::sleep(Duration::from_millis(600)))
            .unwrap();
        spin.join().unwrap();
        idle.join().unwrap();
        let (wall, threads, _) = sampler.finish_threads();
        let cpu = |name: &str| {
            threads
                .iter()
                .find(|t| t.0 == name)
                .map(|t| t.1)
                .unwrap_or_else(|| panic!("{name} was not sampled: {threads:?}"))
        };
        // It spun for 400 ms of CPU, less what it used after the last sample (at most a
        // period) and the clock's tick.
        assert!(cpu("ni-test-spin") > 0.3, "{threads:?}");
        assert!(cpu("ni-test-idle") < 0.05, "{threads:?}");
        assert!(wall >= 0.4);
        assert!(threads.iter().all(|t| t.0 != SAMPLER));
    }
}
