/*  controller_vis: the Virtual Infrastructures, held in memory: each VI's quotas, what its
    VMs take now, its members and their roles, and the templates it may use. VIs are few
    (a company's departments, a school's classes) and read by nearly every request, so
    they are loaded whole at start and changed only by this controller, right after it
    writes the database (a batch rolled back reloads them).

    A VM belongs to one VI. The `default` VI, made at the first start, holds the VMs from
    before VIs and the administrator's own; it may use every template. */
#ifndef CONTROLLER_VIS_H_INCLUDED
#define CONTROLLER_VIS_H_INCLUDED

#include "controller_auth.h"
#include "controller_store.h"

typedef struct {
    store_vi_t row;
    store_quota_t used;  //  what its VMs take now
    zhashx_t *members;   //  user id -> vi_role_t, both in the pointers
    zhashx_t *templates; //  the names of the templates it may use (values unused)
} vi_t;

typedef struct _controller_vis_t controller_vis_t;

controller_vis_t *controller_vis_new (void);
void controller_vis_destroy (controller_vis_t **self_p);

//  Forget what is held and read every VI, member, template and VM's use: 0 or -1.
int controller_vis_load (controller_vis_t *self, mk_db_t *db);

//  A VI by name (NULL if none); a new or changed row (its members, templates and use
//  stay); one taken away.
vi_t *controller_vis_get (controller_vis_t *self, const char *name);
vi_t *controller_vis_put (controller_vis_t *self, const store_vi_t *row);
void controller_vis_drop (controller_vis_t *self, const char *name);
size_t controller_vis_count (controller_vis_t *self);
//  The VIs sorted by name (a new list of borrowed vi_t *).
zlistx_t *controller_vis_list (controller_vis_t *self);

//  A user's role in a VI (VI_ROLE_NONE: not a member); a new role (VI_ROLE_NONE removes
//  them); how many owners it has; a deleted user taken out of every VI.
vi_role_t controller_vis_role (const vi_t *vi, int64_t user_id);
void controller_vis_set_role (vi_t *vi, int64_t user_id, vi_role_t role);
size_t controller_vis_owners (const vi_t *vi);
void controller_vis_drop_user (controller_vis_t *self, int64_t user_id);
//  How many VIs the user holds a role in, and (if any) the first by name into *first.
size_t controller_vis_of_user (controller_vis_t *self, int64_t user_id, const vi_t **first);

//  Whether a VI may use a template (by its key: a VI's own only there); giving or taking
//  one of the cloud's.
bool controller_vis_template_ok (const vi_t *vi, const char *template_);
void controller_vis_template_set (vi_t *vi, const char *template_, bool on);
//  Whether some VI the user holds a role in may use a template.
bool controller_vis_template_offered (controller_vis_t *self, int64_t user_id,
                                      const char *template_);
//  A deleted template of the cloud's, taken from every VI.
void controller_vis_template_drop (controller_vis_t *self, const char *template_);

//  NULL if a VM of `spec` fits in the VI's quotas beside what it takes now; else why not
//  (written into why).
const char *controller_vis_quota_check (const vi_t *vi, const store_spec_t *spec, char *why,
                                        size_t size);
//  A VM of `spec` added to (+1) or taken from (-1) what the VI takes.
void controller_vis_use (vi_t *vi, const store_spec_t *spec, int sign);

void controller_vis_test (bool verbose);

#endif
