// Shared by every shader. Spec constant ids 0..2 are always the workgroup size, so the
// runtime can size workgroups to the device's limits without recompiling.

// Flattened invocation index of a 1-D problem dispatched on a 2-D grid (x first), which
// keeps group counts under the 65,535 minimum of maxComputeWorkGroupCount.
uint flat_invocation() {
    return (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * gl_WorkGroupSize.x +
           gl_LocalInvocationID.x;
}
