//! `sqlx::migrate!` embeds the migrations when the crate compiles, but cargo does not know it reads them: without this,
//! a changed or added migration file leaves a build with the old ones until some source file changes too.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
