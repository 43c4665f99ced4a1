/* Recording a session into the application's command buffer. */
#include "core/error.h"
#include "exec/session.h"
#include "repmlp/vulkan.h"

repmlp_status repmlp_session_record(repmlp_session *s, VkCommandBuffer cmd) {
    if (!s || !cmd)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_session_record: NULL argument");
    repmlp_status st = rm_check_alive(s->ctx);
    if (st != REPMLP_OK) return st;
    rm_session_record_into(s, cmd);
    return REPMLP_OK;
}
