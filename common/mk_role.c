/*  mk_role: the role x operation table (mk_role.h). */
#include "maekin.h"

#include "mk_role.h"

static const char *s_role_names[MK_ROLES] = {"none",    "viewer", "operator",
                                             "manager", "owner",  "admin"};

static const struct {
    const char *name;
    const char *what;
    bool allowed[MK_ROLES]; //  none, viewer, operator, manager, owner, admin
} s_ops[MK_OPS] = {
    [MK_OP_READ] = {"read",
                    "see the VI: its VMs, templates, tasks, metrics",
                    {false, true, true, true, true, true}},
    [MK_OP_VM_OPERATE] = {"vm-operate",
                          "start, stop and reboot its VMs",
                          {false, false, true, true, true, true}},
    [MK_OP_VM_MANAGE] = {"vm-manage",
                         "create and delete its VMs, within its quotas",
                         {false, false, false, true, true, true}},
    [MK_OP_TEMPLATE_MANAGE] = {"template-manage",
                               "create and delete the VI's own templates",
                               {false, false, false, true, true, true}},
    [MK_OP_MEMBERS] = {"members",
                       "invite members, change their roles, remove them",
                       {false, false, false, false, true, true}},
    [MK_OP_AUDIT] = {"audit", "read the VI's audit log", {false, false, false, false, true, true}},
    [MK_OP_VI_ADMIN] = {"vi-admin",
                        "create and delete VIs; give them quotas and templates",
                        {false, false, false, false, false, true}},
    [MK_OP_CLOUD_ADMIN] = {"cloud-admin",
                           "users, hosts, the cloud's templates, the database",
                           {false, false, false, false, false, true}},
};

bool
mk_role_allows (mk_role_t role, mk_op_t op)
{
    if ((unsigned) role >= MK_ROLES || (unsigned) op >= MK_OPS)
        return false;
    return s_ops[op].allowed[role];
}

const char *
mk_role_name (mk_role_t role)
{
    return (unsigned) role < MK_ROLES ? s_role_names[role] : "?";
}

int
mk_role_parse (const char *name)
{
    for (int role = MK_ROLE_VIEWER; role < MK_ROLES; role++)
        if (name && streq (name, s_role_names[role]))
            return role;
    return -1;
}

const char *
mk_op_name (mk_op_t op)
{
    return (unsigned) op < MK_OPS ? s_ops[op].name : "?";
}

const char *
mk_op_what (mk_op_t op)
{
    return (unsigned) op < MK_OPS ? s_ops[op].what : "?";
}

char *
mk_role_matrix (void)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    assert (out);
    fprintf (out, "| operation | what it covers |");
    for (int role = MK_ROLE_VIEWER; role < MK_ROLES; role++)
        fprintf (out, " %s |", s_role_names[role]);
    fprintf (out, "\n|---|---|");
    for (int role = MK_ROLE_VIEWER; role < MK_ROLES; role++)
        fprintf (out, ":-:|");
    fprintf (out, "\n");
    for (int op = 0; op < MK_OPS; op++) {
        fprintf (out, "| `%s` | %s |", s_ops[op].name, s_ops[op].what);
        for (int role = MK_ROLE_VIEWER; role < MK_ROLES; role++)
            fprintf (out, " %s |", s_ops[op].allowed[role] ? "yes" : "-");
        fprintf (out, "\n");
    }
    fclose (out);
    return text;
}

void
mk_role_test (bool verbose)
{
    //  Every operation is named and said; no role name is used twice.
    for (int op = 0; op < MK_OPS; op++)
        assert (s_ops[op].name && *s_ops[op].name && s_ops[op].what && *s_ops[op].what);
    for (int role = MK_ROLE_VIEWER; role < MK_ROLES; role++)
        assert (mk_role_parse (s_role_names[role]) == role);
    assert (mk_role_parse ("none") == -1 && mk_role_parse ("Owner") == -1);
    assert (mk_role_parse (NULL) == -1);
    //  The roles are ordered: each may do all that the one below it may. No role may do
    //  anything with no role; everyone with a role may read; the administrator may do
    //  everything, and only the administrator runs the cloud and its VIs.
    for (int op = 0; op < MK_OPS; op++) {
        assert (!mk_role_allows (MK_ROLE_NONE, (mk_op_t) op));
        assert (mk_role_allows (MK_ROLE_ADMIN, (mk_op_t) op));
        for (int role = MK_ROLE_VIEWER; role < MK_ROLES; role++)
            assert (!mk_role_allows ((mk_role_t) (role - 1), (mk_op_t) op)
                    || mk_role_allows ((mk_role_t) role, (mk_op_t) op));
    }
    assert (mk_role_allows (MK_ROLE_VIEWER, MK_OP_READ));
    assert (!mk_role_allows (MK_ROLE_VIEWER, MK_OP_VM_OPERATE));
    assert (mk_role_allows (MK_ROLE_OPERATOR, MK_OP_VM_OPERATE));
    assert (!mk_role_allows (MK_ROLE_OPERATOR, MK_OP_VM_MANAGE));
    assert (!mk_role_allows (MK_ROLE_MANAGER, MK_OP_MEMBERS));
    assert (mk_role_allows (MK_ROLE_OWNER, MK_OP_MEMBERS));
    for (int role = MK_ROLE_NONE; role < MK_ROLE_ADMIN; role++)
        assert (!mk_role_allows ((mk_role_t) role, MK_OP_VI_ADMIN)
                && !mk_role_allows ((mk_role_t) role, MK_OP_CLOUD_ADMIN));
    //  Out of range is refused, not read past the table.
    assert (!mk_role_allows (MK_ROLES, MK_OP_READ) && !mk_role_allows (MK_ROLE_ADMIN, MK_OPS));
    //  The table: a header, a rule and a row an operation, a column a role.
    char *table = mk_role_matrix ();
    size_t lines = 0;
    for (const char *c = table; *c; c++)
        lines += *c == '\n';
    assert (lines == 2 + MK_OPS && strstr (table, "| `members` |"));
    assert (strstr (table, "| operation | what it covers | viewer | operator | manager | owner "
                           "| admin |"));
    if (verbose)
        printf ("%s", table);
    free (table);
}
