/*  mk_role: who may do what (issue 17): the roles a user holds in a Virtual
    Infrastructure, the cloud's administrator, and the operations they are checked
    against, in one table. The controller enforces it (controller_auth), maekinsh and
    the docs print it; nothing else decides. A VI's roles are ordered: each may do what
    the ones below it may, and more. */
#ifndef MK_ROLE_H_INCLUDED
#define MK_ROLE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    MK_ROLE_NONE = 0, //  no role in the VI: sees nothing of it
    MK_ROLE_VIEWER,   //  sees the VI: its VMs, templates, tasks, metrics
    MK_ROLE_OPERATOR, //  and starts, stops and reboots its VMs
    MK_ROLE_MANAGER,  //  and creates and deletes its VMs and its own templates
    MK_ROLE_OWNER,    //  and invites members, changes their roles, reads its audit log
    MK_ROLE_ADMIN,    //  the cloud's administrator: every VI, and the cloud itself
    MK_ROLES
} mk_role_t;

typedef enum {
    MK_OP_READ = 0,        //  see a VI and what it holds
    MK_OP_VM_OPERATE,      //  start, stop, reboot a VM
    MK_OP_VM_MANAGE,       //  create, delete a VM (within the VI's quotas)
    MK_OP_TEMPLATE_MANAGE, //  create, delete the VI's own templates
    MK_OP_MEMBERS,         //  invite, change, remove the VI's members
    MK_OP_AUDIT,           //  read the VI's audit log
    MK_OP_VI_ADMIN,        //  create, delete VIs; their quotas and templates
    MK_OP_CLOUD_ADMIN,     //  users, hosts, the cloud's templates, the database
    MK_OPS
} mk_op_t;

//  Whether a role may do an operation.
bool mk_role_allows (mk_role_t role, mk_op_t op);

//  A role's name ("viewer" .. "owner", "admin"), and the role of a name (-1 if none;
//  "none" is not a name a user can be given).
const char *mk_role_name (mk_role_t role);
int mk_role_parse (const char *name);

//  An operation's name ("read", "vm-operate", ...) and what it covers, for people.
const char *mk_op_name (mk_op_t op);
const char *mk_op_what (mk_op_t op);

//  The table as Markdown (a new string): a row an operation, a column a role.
char *mk_role_matrix (void);

void mk_role_test (bool verbose);

#endif
