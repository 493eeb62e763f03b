//! VMDK (VMware virtual disk) reader: hosted sparse extents (monolithicSparse,
//! twoGbMaxExtentSparse, streamOptimized, delta disks), flat extents (monolithicFlat,
//! twoGbMaxExtentFlat, vmfs) and zero extents, assembled from a text descriptor.
//!
//! Specification: VMware technical note "Virtual Disk Format 1.1" (descriptor file, hosted sparse
//! extents, stream-optimized compressed sparse extents), plus the zeroed-grain table entry of
//! "Virtual Disk Format 5.0". Our own code because the one crate that matched qemu (`vmdk-core`)
//! is young and single-author, and we need uniform limits, extent confinement to the
//! descriptor's directory, backing-file policy, anomalies and fuzzing (dependencies.md).
//!
//! - [`descriptor`]: the text descriptor (embedded or standalone).
//! - [`sparse`]: the `KDMV` header, grain directory and tables, plain and compressed grains.
//! - this module: probing, opening the extents a descriptor names (only inside the descriptor's
//!   directory, through [`OpenContext::open_extent`]), the parent of a delta disk (only with
//!   `--follow-backing`), and the virtual disk as one [`BlockSource`].

mod descriptor;
mod sparse;
#[cfg(test)]
mod tests;

use crate::{ContainerError, Format, FormatReader, ImageFacts, OpenContext, Probe, VirtualDisk};
use descriptor::{Descriptor, ExtentLine, ExtentType};
use imgcheck_core::bytes::u32_le;
use imgcheck_core::{Anomaly, BlockSource, ErrorKind, Limits, ReadError};
use sparse::{OpenShared, SparseExtent, SparseHeader, SECTOR, SPARSE_MAGIC};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Format name used in errors and facts.
const FMT: &str = "vmdk";
/// `parentCID` value meaning "no parent".
const NO_PARENT_CID: &str = "ffffffff";

/// The VMDK format.
pub(crate) struct VmdkFormat;

impl FormatReader for VmdkFormat {
    fn name(&self) -> &'static str {
        FMT
    }

    fn probe(&self, probe: &Probe<'_>) -> bool {
        u32_le(probe.head, 0) == Some(SPARSE_MAGIC) || descriptor::looks_like_descriptor(probe.head)
    }

    fn open(
        &self,
        file: Arc<dyn BlockSource>,
        probe: &Probe<'_>,
        ctx: &OpenContext,
    ) -> Result<VirtualDisk, ContainerError> {
        open_vmdk(file, probe, ctx)
    }
}

/// Where an extent's bytes come from.
enum ExtentData {
    /// Reads as zeros.
    Zero,
    /// A plain file from byte `base`.
    Flat {
        file: Arc<dyn BlockSource>,
        base: u64,
    },
    /// A hosted sparse extent.
    Sparse(Box<SparseExtent>),
}

/// One extent placed in the virtual disk.
struct Extent {
    /// First virtual byte.
    start: u64,
    /// Bytes.
    len: u64,
    /// File name (for messages).
    name: String,
    data: ExtentData,
}

/// The assembled virtual disk.
struct VmdkDisk {
    extents: Vec<Extent>,
    len: u64,
    /// The parent of a delta disk (zeros when not followed).
    parent: Option<Arc<dyn BlockSource>>,
    allocated: u64,
}

/// Convert a sector count to bytes, failing with a message naming `structure`.
fn sector_bytes(sectors: u64, structure: &str, offset: u64) -> Result<u64, ContainerError> {
    sectors.checked_mul(SECTOR).ok_or_else(|| {
        ContainerError::corrupt(
            FMT,
            structure.to_string(),
            offset,
            format!("{sectors} sectors overflow a 64-bit byte count"),
        )
    })
}

/// The file name of the image, for messages.
fn image_name(ctx: &OpenContext) -> String {
    ctx.path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "<image>".to_string())
}

/// Read and parse the descriptor embedded in a sparse extent, if the header points at one.
fn embedded_descriptor(
    file: &dyn BlockSource,
    header: &SparseHeader,
    limits: &Limits,
) -> Result<Option<Descriptor>, ContainerError> {
    if header.descriptor_offset == 0 || header.descriptor_size == 0 {
        return Ok(None);
    }
    let what = "embedded descriptor";
    let off = sector_bytes(header.descriptor_offset, what, 0)?;
    let len = sector_bytes(header.descriptor_size, what, off)?;
    if len > limits.max_descriptor_bytes {
        return Err(ContainerError::Limit {
            format: FMT,
            structure: what.to_string(),
            offset: off,
            what: "descriptor size in bytes".to_string(),
            actual: len,
            limit: limits.max_descriptor_bytes,
        });
    }
    let text = read_range(file, off, len, what)?;
    descriptor::parse(&text, off, limits).map(Some)
}

/// Read `len` bytes at `off`, naming `what` when the range lies past the end of the file.
fn read_range(
    file: &dyn BlockSource,
    off: u64,
    len: u64,
    what: &str,
) -> Result<Vec<u8>, ContainerError> {
    let file_len = file.len();
    if off.checked_add(len).is_none_or(|e| e > file_len) {
        return Err(ContainerError::corrupt(
            FMT,
            what.to_string(),
            off,
            format!("{len} bytes run past the end of the {file_len}-byte file"),
        ));
    }
    let n = usize::try_from(len)
        .map_err(|_| ContainerError::corrupt(FMT, what.to_string(), off, "too large"))?;
    let mut buf = vec![0u8; n];
    file.read_exact_at(&mut buf, off)
        .map_err(|e| ContainerError::read(FMT, what.to_string(), off, e))?;
    Ok(buf)
}

/// Anomaly when a descriptor's extent size and a sparse header's capacity disagree.
fn capacity_anomaly(name: &str, line: Option<usize>, declared: u64, capacity: u64) -> Anomaly {
    let at = line
        .map(|l| format!(" (descriptor line {l})"))
        .unwrap_or_default();
    let effect = if declared > capacity {
        "sectors past the capacity read as zeros"
    } else {
        "only the declared sectors are read"
    };
    Anomaly::new(
        FMT,
        format!("extent {name:?}"),
        None,
        ErrorKind::Corrupt,
        format!(
            "descriptor declares {declared} sectors{at}, the sparse header's capacity is {capacity}; {effect}"
        ),
    )
}

fn open_vmdk(
    file: Arc<dyn BlockSource>,
    probe: &Probe<'_>,
    ctx: &OpenContext,
) -> Result<VirtualDisk, ContainerError> {
    let limits = ctx.limits();
    let mut anomalies = Vec::new();
    let mut extents = Vec::new();
    let mut file_size = file.len();
    let mut sparse_versions = BTreeSet::new();
    let desc: Option<Descriptor>;
    let embedded;

    if u32_le(probe.head, 0) == Some(SPARSE_MAGIC) {
        // A sparse extent opened directly; its embedded descriptor (if any) describes it alone.
        embedded = true;
        let own = image_name(ctx);
        let header = sparse::read_header(&*file, &own, &mut anomalies)?;
        let d = embedded_descriptor(&*file, &header, limits)?;
        let (name, sectors, line) = match &d {
            Some(d) => {
                let [only] = d.extents.as_slice() else {
                    return Err(ContainerError::corrupt(
                        FMT,
                        "embedded descriptor",
                        header.descriptor_offset.saturating_mul(SECTOR),
                        format!(
                            "lists {} extents, expected exactly one SPARSE extent (the file itself)",
                            d.extents.len()
                        ),
                    ));
                };
                if only.kind != ExtentType::Sparse {
                    return Err(ContainerError::corrupt(
                        FMT,
                        format!("embedded descriptor line {}", only.line),
                        header.descriptor_offset.saturating_mul(SECTOR),
                        format!(
                            "extent type is {}, expected SPARSE (the file itself)",
                            only.kind.keyword()
                        ),
                    ));
                }
                (
                    only.file.clone().unwrap_or_else(|| own.clone()),
                    only.sectors,
                    Some(only.line),
                )
            }
            None => (own, header.capacity, None),
        };
        if sectors != header.capacity {
            anomalies.push(capacity_anomaly(&name, line, sectors, header.capacity));
        }
        sparse_versions.insert(header.version);
        let len = sector_bytes(sectors, "embedded descriptor", 0)?;
        let mut shared = OpenShared::new(limits);
        let ext = SparseExtent::open(file.clone(), &name, header, &mut shared, &mut anomalies)?;
        extents.push(Extent {
            start: 0,
            len,
            name,
            data: ExtentData::Sparse(Box::new(ext)),
        });
        desc = d;
    } else {
        // A standalone text descriptor naming its extent files.
        embedded = false;
        let len = file.len();
        if len > limits.max_descriptor_bytes {
            return Err(ContainerError::Limit {
                format: FMT,
                structure: "descriptor file".to_string(),
                offset: 0,
                what: "descriptor size in bytes".to_string(),
                actual: len,
                limit: limits.max_descriptor_bytes,
            });
        }
        let text = read_range(&*file, 0, len, "descriptor file")?;
        let d = descriptor::parse(&text, 0, limits)?;
        if d.extents.is_empty() {
            return Err(ContainerError::corrupt(
                FMT,
                "descriptor file",
                0,
                "lists no extents",
            ));
        }
        let mut start = 0u64;
        let mut files_seen = BTreeSet::new();
        let mut shared = OpenShared::new(limits);
        for line in &d.extents {
            let (ext, file_len, version) =
                open_extent_line(line, start, ctx, &mut shared, &mut anomalies)?;
            if let Some(v) = version {
                sparse_versions.insert(v);
            }
            if let (Some(n), Some(fl)) = (&line.file, file_len) {
                if files_seen.insert(n.clone()) {
                    file_size = file_size.saturating_add(fl);
                }
            }
            start = start.checked_add(ext.len).ok_or_else(|| {
                ContainerError::corrupt(
                    FMT,
                    format!("descriptor line {}", line.line),
                    0,
                    "extent sizes add up past 2^64 bytes",
                )
            })?;
            if ext.len > 0 {
                extents.push(ext);
            }
        }
        desc = Some(d);
    }

    let virtual_size = extents
        .last()
        .map(|e| e.start.saturating_add(e.len))
        .unwrap_or(0);
    let mut facts = ImageFacts::new(Format::Vmdk, virtual_size, file_size);
    facts.details.insert(
        "descriptor".to_string(),
        match (&desc, embedded) {
            (None, _) => "none",
            (Some(_), true) => "embedded",
            (Some(_), false) => "separate",
        }
        .to_string(),
    );
    facts.details.insert(
        "extents".to_string(),
        desc.as_ref()
            .map(|d| d.extents.len())
            .unwrap_or(1)
            .to_string(),
    );
    if !sparse_versions.is_empty() {
        let v: Vec<String> = sparse_versions.iter().map(u32::to_string).collect();
        facts
            .details
            .insert("sparse_header_version".to_string(), v.join(","));
    }

    let mut compressed = false;
    let mut allocated = 0u64;
    for e in &extents {
        match &e.data {
            ExtentData::Zero => {}
            ExtentData::Flat { .. } => allocated = allocated.saturating_add(e.len),
            ExtentData::Sparse(s) => {
                allocated = allocated.saturating_add(s.allocated_bytes(e.len));
                compressed |= s.header().compressed();
                facts.dirty |= s.header().unclean;
                if facts.cluster_size.is_none() {
                    facts.cluster_size = Some(s.grain_bytes());
                }
            }
        }
    }
    facts.allocated_bytes = Some(allocated);
    if compressed {
        facts.compression = Some("deflate".to_string());
    }

    let mut parent = None;
    if let Some(d) = &desc {
        describe(d, &mut facts, &mut anomalies);
        if let Some(hint) = d.parent_hint.as_deref().filter(|h| !h.is_empty()) {
            let (src, bref, more) = ctx.backing_source(FMT, hint, Some(FMT), virtual_size)?;
            if let (Some(pf), Some(want)) = (&bref.parent, &d.parent_cid) {
                if let Some(got) = pf.details.get("cid") {
                    if !got.eq_ignore_ascii_case(want) {
                        anomalies.push(Anomaly::new(
                            FMT,
                            "descriptor",
                            None,
                            ErrorKind::Corrupt,
                            format!(
                                "parentCID is {want}, but the parent {hint:?} has CID {got}: the parent changed after this delta disk was made"
                            ),
                        ));
                    }
                }
            }
            anomalies.extend(more);
            facts.backing = Some(bref);
            parent = Some(src);
        }
    } else if extents.iter().any(|e| {
        matches!(&e.data, ExtentData::Sparse(s) if s.header().compressed() && s.header().markers())
    }) {
        facts.subformat = Some("streamOptimized".to_string());
    }

    let disk = VmdkDisk {
        extents,
        len: virtual_size,
        parent,
        allocated,
    };
    Ok(VirtualDisk::new(facts, anomalies, Arc::new(disk)))
}

/// `createType` values of the VMDK 1.1 specification (and ESX variants qemu knows).
const KNOWN_CREATE_TYPES: &[&str] = &[
    "monolithicSparse",
    "monolithicFlat",
    "twoGbMaxExtentSparse",
    "twoGbMaxExtentFlat",
    "streamOptimized",
    "vmfs",
    "vmfsSparse",
    "vmfsThin",
    "vmfsRaw",
    "vmfsRDM",
    "vmfsRawDeviceMap",
    "vmfsPassthroughRawDeviceMap",
    "fullDevice",
    "partitionedDevice",
    "custom",
    "seSparse",
    "vsanSparse",
];

/// Descriptor facts: createType, version, CID, ddb entries; anomalies for unknown lines.
fn describe(d: &Descriptor, facts: &mut ImageFacts, anomalies: &mut Vec<Anomaly>) {
    facts.subformat = d.create_type.clone();
    match d.create_type.as_deref() {
        Some(t) if KNOWN_CREATE_TYPES.iter().any(|k| k.eq_ignore_ascii_case(t)) => {}
        other => anomalies.push(Anomaly::new(
            FMT,
            "descriptor",
            None,
            ErrorKind::Corrupt,
            match other {
                Some(t) => format!(
                    "createType {t:?} is not a VMDK disk type; the extents were read as listed"
                ),
                None => "no createType; the extents were read as listed".to_string(),
            },
        )),
    }
    facts.version = d.version.clone();
    let det = &mut facts.details;
    if let Some(c) = &d.cid {
        det.insert("cid".to_string(), c.to_ascii_lowercase());
    }
    if let Some(c) = &d.parent_cid {
        det.insert("parent_cid".to_string(), c.to_ascii_lowercase());
    }
    for (key, name) in [
        ("ddb.adaptertype", "adapter_type"),
        ("ddb.virtualhwversion", "hw_version"),
        ("ddb.toolsversion", "tools_version"),
        ("ddb.uuid", "uuid"),
        ("ddb.longcontentid", "long_content_id"),
    ] {
        if let Some(v) = d.ddb.get(key) {
            det.insert(name.to_string(), v.clone());
        }
    }
    let geo = ["cylinders", "heads", "sectors"].map(|k| d.ddb.get(&format!("ddb.geometry.{k}")));
    if let [Some(c), Some(h), Some(s)] = geo {
        det.insert("geometry".to_string(), format!("{c}/{h}/{s}"));
    }
    if d.parent_hint.is_none() {
        if let Some(pc) = d.parent_cid.as_deref() {
            if !pc.eq_ignore_ascii_case(NO_PARENT_CID) {
                anomalies.push(Anomaly::new(
                    FMT,
                    "descriptor",
                    None,
                    ErrorKind::Corrupt,
                    format!("parentCID is {pc} but no parentFileNameHint names the parent"),
                ));
            }
        }
    }
    if !d.unrecognised.is_empty() {
        let lines: Vec<String> = d.unrecognised.iter().map(usize::to_string).collect();
        anomalies.push(Anomaly::new(
            FMT,
            "descriptor",
            None,
            ErrorKind::Corrupt,
            format!("unrecognised lines ignored: {}", lines.join(", ")),
        ));
    }
}

/// Open one extent line of a standalone descriptor, placed at virtual byte `start`. Returns the
/// extent, the size of its file and the sparse header version.
fn open_extent_line(
    line: &ExtentLine,
    start: u64,
    ctx: &OpenContext,
    shared: &mut OpenShared<'_>,
    anomalies: &mut Vec<Anomaly>,
) -> Result<(Extent, Option<u64>, Option<u32>), ContainerError> {
    let structure = format!("descriptor line {}", line.line);
    let len = sector_bytes(line.sectors, &structure, 0)?;
    let name = line.file.clone().unwrap_or_default();
    let unsupported = |what: &str| ContainerError::Unsupported {
        format: FMT,
        feature: format!("{what} extents ({structure}: {name:?})"),
    };
    match line.kind {
        ExtentType::Zero => Ok((
            Extent {
                start,
                len,
                name: "ZERO".to_string(),
                data: ExtentData::Zero,
            },
            None,
            None,
        )),
        ExtentType::VmfsSparse => Err(unsupported("VMFSSPARSE (ESX COWD)")),
        ExtentType::SeSparse => Err(unsupported("SESPARSE")),
        ExtentType::VmfsRaw => Err(unsupported("raw device mapping")),
        ExtentType::Flat | ExtentType::Vmfs => {
            let f = ctx.open_extent(FMT, &name)?;
            let flen = f.len();
            let base = sector_bytes(line.offset, &structure, 0)?;
            let need = base.checked_add(len);
            if need.is_none_or(|n| n > flen) {
                anomalies.push(Anomaly::new(
                    FMT,
                    format!("extent {name:?}"),
                    None,
                    ErrorKind::Corrupt,
                    format!(
                        "{structure} needs {} bytes of the file from offset {base}, the file has {flen}; reads past its end fail",
                        len
                    ),
                ));
            }
            Ok((
                Extent {
                    start,
                    len,
                    name,
                    data: ExtentData::Flat { file: f, base },
                },
                Some(flen),
                None,
            ))
        }
        ExtentType::Sparse => {
            let f: Arc<dyn BlockSource> = ctx.open_extent(FMT, &name)?;
            let flen = f.len();
            let header = sparse::read_header(&*f, &name, anomalies)?;
            if header.capacity != line.sectors {
                anomalies.push(capacity_anomaly(
                    &name,
                    Some(line.line),
                    line.sectors,
                    header.capacity,
                ));
            }
            let version = header.version;
            let ext = SparseExtent::open(f, &name, header, shared, anomalies)?;
            Ok((
                Extent {
                    start,
                    len,
                    name,
                    data: ExtentData::Sparse(Box::new(ext)),
                },
                Some(flen),
                Some(version),
            ))
        }
    }
}

impl VmdkDisk {
    fn read_extent(&self, e: &Extent, piece: &mut [u8], local: u64) -> Result<(), ContainerError> {
        match &e.data {
            ExtentData::Zero => {
                piece.fill(0);
                Ok(())
            }
            ExtentData::Flat { file, base } => {
                let off = base.saturating_add(local);
                file.read_exact_at(piece, off).map_err(|err| {
                    ContainerError::read(FMT, format!("flat extent {:?}", e.name), off, err)
                })
            }
            ExtentData::Sparse(s) => {
                let unallocated = |p: &mut [u8], eoff: u64| -> Result<(), ContainerError> {
                    match &self.parent {
                        Some(parent) => {
                            let voff = e.start.saturating_add(eoff);
                            parent
                                .read_exact_at(p, voff)
                                .map_err(|err| ContainerError::read(FMT, "parent disk", voff, err))
                        }
                        None => {
                            p.fill(0);
                            Ok(())
                        }
                    }
                };
                s.read(piece, local, &unallocated)
            }
        }
    }
}

impl BlockSource for VmdkDisk {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), ReadError> {
        let n = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        if offset.checked_add(n).is_none_or(|end| end > self.len) {
            return Err(ReadError::OutOfBounds {
                offset,
                len: n,
                size: self.len,
            });
        }
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset.saturating_add(u64::try_from(done).unwrap_or(u64::MAX));
            let idx = self
                .extents
                .partition_point(|e| e.start <= pos)
                .checked_sub(1);
            let Some(e) = idx.and_then(|i| self.extents.get(i)) else {
                return Err(ReadError::OutOfBounds {
                    offset: pos,
                    len: n,
                    size: self.len,
                });
            };
            let local = pos.saturating_sub(e.start);
            let room = usize::try_from(e.len.saturating_sub(local)).unwrap_or(usize::MAX);
            let take = room.min(buf.len().saturating_sub(done));
            if take == 0 {
                return Err(ReadError::OutOfBounds {
                    offset: pos,
                    len: n,
                    size: self.len,
                });
            }
            let end = done.saturating_add(take);
            let piece = buf.get_mut(done..end).unwrap_or_default();
            self.read_extent(e, piece, local)
                .map_err(|err| err.into_read_error(FMT, pos))?;
            done = end;
        }
        Ok(())
    }

    /// From the extent that holds `offset`: zero extents, host-file holes of flat extents, and
    /// the grain tables of sparse extents (unallocated grains are zeros without a parent).
    fn extent(&self, offset: u64, max: u64) -> Option<imgcheck_core::Extent> {
        use imgcheck_core::Extent;
        let room = imgcheck_core::extent_room(offset, max, self.len)?;
        let i = self
            .extents
            .partition_point(|e| e.start <= offset)
            .checked_sub(1)?;
        let e = self.extents.get(i)?;
        let local = offset.checked_sub(e.start)?;
        let take = e.len.checked_sub(local)?.min(room);
        if take == 0 {
            return None;
        }
        let r = match &e.data {
            ExtentData::Zero => Some(Extent::Zero(take)),
            ExtentData::Flat { file, base } => file.extent(base.checked_add(local)?, take),
            ExtentData::Sparse(s) => s.extent(local, take, self.parent.is_none()),
        }?;
        (!r.is_empty()).then(|| r.with_len(r.len().min(take)))
    }

    fn allocated_bytes(&self) -> Option<u64> {
        Some(self.allocated)
    }
}
