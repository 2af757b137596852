//! Loading the compiled object, attaching the parser and verdict to the
//! intercept map, and taking the maps out for [`super::maps::Maps`].
use aya::maps::{HashMap, MapData, SockHash};
use aya::programs::SkSkb;
use aya::{Ebpf, EbpfLoader};

use super::maps::Maps;
use crate::FastPathError;

/// The object built by build.rs: empty when clang was unavailable.
static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/splice.bpf.o"));
/// Why build.rs produced no object, or empty.
pub(crate) static BUILD_STATUS: &str = include_str!(concat!(env!("OUT_DIR"), "/bpf_status.txt"));

pub(crate) fn object_built() -> bool {
    !OBJECT.is_empty()
}

/// Loads and attaches; the returned Ebpf must outlive the maps' use, since
/// dropping it detaches the programs.
pub(crate) fn load(max_sessions: u32) -> Result<(Ebpf, Maps), FastPathError> {
    let sockets = max_sessions.saturating_mul(2);
    let mut ebpf = EbpfLoader::new()
        .map_max_entries("sw_intercept", sockets)
        .map_max_entries("sw_targets", sockets)
        .map_max_entries("sw_peers", sockets)
        .map_max_entries("sw_pair_bytes", max_sessions)
        .load(OBJECT)?;

    let intercept: SockHash<MapData, u64> = take(&mut ebpf, "sw_intercept")?;
    let targets: SockHash<MapData, u64> = take(&mut ebpf, "sw_targets")?;
    let peers: HashMap<MapData, u64, super::maps::Peer> = take(&mut ebpf, "sw_peers")?;
    let pair_bytes: HashMap<MapData, u64, [u64; 2]> = take(&mut ebpf, "sw_pair_bytes")?;

    let intercept_fd = intercept
        .fd()
        .try_clone()
        .map_err(FastPathError::io("duplicating the sockhash fd"))?;
    for name in ["sw_parser", "sw_verdict"] {
        let program: &mut SkSkb = ebpf
            .program_mut(name)
            .ok_or_else(|| FastPathError::Internal(format!("program {name} missing")))?
            .try_into()
            .map_err(FastPathError::program("program type"))?;
        program
            .load()
            .map_err(FastPathError::program("loading (verifier)"))?;
        program
            .attach(&intercept_fd)
            .map_err(FastPathError::program("attaching to the sockhash"))?;
    }
    Ok((ebpf, Maps::new(intercept, targets, peers, pair_bytes)))
}

fn take<M>(ebpf: &mut Ebpf, name: &str) -> Result<M, FastPathError>
where
    M: TryFrom<aya::maps::Map, Error = aya::maps::MapError>,
{
    let map = ebpf
        .take_map(name)
        .ok_or_else(|| FastPathError::Internal(format!("map {name} missing from the object")))?;
    M::try_from(map).map_err(|e| FastPathError::Internal(format!("map {name}: {e}")))
}
