//! Renders `.dockerignore`: our generated block, then the user's own rules (see
//! [`crate::ignore`]), so secrets a user excluded stay excluded after regeneration.

use crate::plan::Plan;

/// The `.dockerignore` at the build context root (and `Dockerfile.dockerignore` beside a
/// Dockerfile written elsewhere): the same rules the plan's sources were chosen with.
pub fn render(plan: &Plan) -> String {
    crate::ignore::render(
        plan.dockerignore.as_deref(),
        &plan.vendor_dirs,
        plan.git.as_deref(),
        &crate::render::tools::context_dir(plan),
    )
}
