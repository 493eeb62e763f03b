//! # imgcheck-inspect
//!
//! The facts layer: find OS roots among the opened filesystems, assemble the guest's file tree
//! from its `/etc/fstab` ([`assemble`]), resolve guest paths across mounts and symlinks clamped
//! at the guest root ([`GuestView`]), and read OS facts ([`linux::inspect`]).
//!
//! ```no_run
//! # fn demo(vols: Vec<imgcheck_inspect::VolumeDesc>) {
//! let roots = imgcheck_inspect::find_linux_roots(&vols);
//! if let Some(&r) = roots.first() {
//!     let guest = imgcheck_inspect::assemble(&vols, r, 40, 1 << 20).unwrap();
//!     let facts = imgcheck_inspect::linux::inspect(&guest.view, &imgcheck_core::Limits::default());
//!     println!("{:?} {:?}", facts.pretty_name, facts.arch);
//! }
//! # }
//! ```

pub mod agents;
mod assemble;
pub mod bootloader;
pub mod elf;
mod error;
pub mod firmware;
pub mod fstab;
pub mod initramfs;
pub mod kconfig;
pub mod linux;
pub mod network;
pub mod osrelease;
pub mod packages;
pub mod services;
pub mod system;
#[cfg(test)]
mod testfs;
mod view;
pub mod windows;
pub mod yaml;

pub use assemble::{
    assemble, assemble_root, find_linux_root_subvols, find_linux_roots, is_linux_root,
    kernel_name_partition, resolve_entry, subvol_sel, Assembly, LinuxRoot, MountEntry, Resolution,
    VolumeDesc, NETWORK_FS,
};
pub use error::InspectError;
pub use view::{is_not_found, GuestView, Mount};
