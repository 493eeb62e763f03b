//! `imgcheck`: offline checks of virtual-machine disk images.
//!
//! The binary is a thin shell over the library crates in `crates/`: it parses arguments, calls
//! the layers and prints. stdout carries the result (text or JSON); errors and logs go to stderr.
//!
//! Exit status: 0 success (for `check`: no strongly recommended fix), 1 `check` found at least one
//! strongly recommended fix, 2 the image could not be analysed or the command line was wrong.

mod commands;
mod engine;
mod output;
mod stats;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status: the image could not be analysed, or bad usage.
pub const EXIT_ERROR: u8 = 2;

#[derive(Parser)]
#[command(
    name = "imgcheck",
    version,
    about = "Check VM disk images offline: will they boot and work as cloud instances?",
    after_help = "Exit status: 0 success (check: no strongly recommended fix), 1 check found a \
                  strongly recommended fix, 2 the image could not be analysed or usage error.\n\
                  Images are opened read-only and never modified. Backing files are not opened \
                  unless --follow-backing is given."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Options shared by every command that opens an image.
#[derive(clap::Args, Debug, Clone)]
pub struct ImageArgs {
    /// The image file (raw, qcow2, VHD, VHDX, VMDK; detected by content).
    pub image: PathBuf,
    /// Open backing files / parent disks (confined to the image's directory, depth-limited).
    #[arg(long)]
    pub follow_backing: bool,
    /// Directory backing files must lie in (default: the image's directory).
    #[arg(long, value_name = "DIR")]
    pub backing_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Describe the container and its partitions (like `qemu-img info` and `mmls` together).
    Info {
        #[command(flatten)]
        image: ImageArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write the decoded virtual disk, or one volume of it, as raw bytes.
    Export {
        #[command(flatten)]
        image: ImageArgs,
        /// A volume as `inspect` lists it: a partition number, an LVM logical volume `VG/LV`,
        /// an md array `md/NAME`; default: the whole disk.
        #[arg(long, value_name = "V")]
        volume: Option<String>,
        /// Output file; `-` writes to stdout.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
    },
    /// Show what the image holds: volumes, filesystems, the guest OS, its mounts and kernels.
    Inspect {
        #[command(flatten)]
        image: ImageArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Print time per stage, reads per layer, cache hits and peak memory to stderr.
        #[arg(long)]
        stats: bool,
    },
    /// List a directory of the guest (or of one volume) without mounting.
    Ls {
        #[command(flatten)]
        image: ImageArgs,
        /// Guest path to list.
        #[arg(default_value = "/")]
        path: String,
        /// A volume as `inspect` lists it (partition number or `whole`); default: the guest.
        #[arg(long, value_name = "V")]
        volume: Option<String>,
        /// Long listing: mode, owner, size, modification time.
        #[arg(short = 'l')]
        long: bool,
        /// Recurse into directories.
        #[arg(short = 'R')]
        recursive: bool,
        /// Print JSON entries {path, type, size, mode, target, …}.
        #[arg(long)]
        json: bool,
    },
    /// Check the image: will it boot and work as a cloud instance?
    Check {
        #[command(flatten)]
        image: ImageArgs,
        /// Report format.
        #[arg(long, value_enum, default_value = "text")]
        format: commands::check::ReportFormat,
        /// Target platform whose rules apply: alibaba, aws, azure, gcp, kvm.
        #[arg(long, default_value = "alibaba")]
        target: String,
        /// Write the report to FILE instead of stdout.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Print time per stage, reads per layer, cache hits and peak memory to stderr.
        #[arg(long)]
        stats: bool,
    },
    /// List the checks: ids, Alibaba items, titles.
    Checks {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check every image in a directory.
    Scan {
        /// Directory of images.
        dir: PathBuf,
        /// Descend into subdirectories.
        #[arg(short = 'r', long)]
        recursive: bool,
        /// Target platform.
        #[arg(long, default_value = "alibaba")]
        target: String,
        /// Images checked in parallel.
        #[arg(short = 'j', long, default_value_t = 2)]
        jobs: usize,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Print the scan's totals to stderr: time, images per second, reads per layer, peak
        /// memory.
        #[arg(long)]
        stats: bool,
    },
    /// Write a guest file's bytes to stdout.
    Cat {
        #[command(flatten)]
        image: ImageArgs,
        /// Guest path of the file.
        path: String,
        /// A volume as `inspect` lists it; default: the guest.
        #[arg(long, value_name = "V")]
        volume: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info { image, json } => commands::info::run(&image, json),
        Command::Export {
            image,
            volume,
            output,
        } => commands::export::run(&image, volume.as_deref(), &output),
        Command::Inspect { image, json, stats } => commands::inspect::run(&image, json, stats),
        Command::Ls {
            image,
            path,
            volume,
            long,
            recursive,
            json,
        } => commands::ls::run(
            &image,
            &commands::ls::LsOptions {
                path: &path,
                volume: volume.as_deref(),
                long,
                recursive,
                json,
            },
        ),
        Command::Cat {
            image,
            path,
            volume,
        } => commands::cat::run(&image, &path, volume.as_deref()),
        Command::Check {
            image,
            format,
            target,
            output,
            stats,
        } => commands::check::run(
            &image,
            &commands::check::CheckOptions {
                format,
                target: &target,
                output: output.as_deref(),
                stats,
            },
        ),
        Command::Checks { json } => commands::checks::run(json),
        Command::Scan {
            dir,
            recursive,
            target,
            jobs,
            json,
            stats,
        } => commands::scan::run(
            &dir,
            &commands::scan::ScanOptions {
                recursive,
                target: &target,
                jobs,
                json,
                stats,
            },
        ),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("imgcheck: {}", output::error_chain(&e));
            ExitCode::from(EXIT_ERROR)
        }
    }
}
