//! `sportello keys generate --dir DIR`: Sportello's keys as a relying party of the SPID/CIE federation (federation,
//! OIDC signing, encryption), each a new RSA key in its folder under `DIR`, readable by the owner only; the keys
//! already there stay, to be published until what they signed has expired (`sportello_federation::keys`).

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `sportello keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Write a new key of each use under DIR (folders 0700, files 0600); older keys stay listed until removed.
    Generate(GenerateArgs),
}

/// Arguments of `keys generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The folder `[federation] keys_dir` names.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// The RSA modulus size, 2048 to 8192: 2048 (over a thousand logins a second per core) or 4096 (the profile's advice).
    #[arg(long, default_value_t = 2048, value_parser = clap::value_parser!(u32).range(2048..=8192))]
    pub bits: u32,
}

/// Runs `sportello keys …`, printing the files written.
pub fn run(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Generate(args) => {
            let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
            let written = sportello_federation::keys::generate(&args.dir, &stamp, args.bits)?;
            for file in written {
                println!("{}", file.display());
            }
            Ok(())
        }
    }
}
