/* SPDX-License-Identifier: GPL-2.0 */
/* rust/module_ref.c, for the Rust side of the module (module_ref.rs). */
#ifndef DELAYED_RMAP_MODULE_REF_H
#define DELAYED_RMAP_MODULE_REF_H

struct file;
struct file_operations;

int delayed_rmap_file_hold_module(struct file *file, const struct file_operations *fops);

#endif
