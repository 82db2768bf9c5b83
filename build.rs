//! Rebuilds the crate when a migration changes, since the migrations are embedded in the binary.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
