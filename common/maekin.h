/*  maekin.h: everything a Maekin program includes. */
#ifndef MAEKIN_H_INCLUDED
#define MAEKIN_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "maekin.pb-c.h"
#include "mk_log.h"

#endif
