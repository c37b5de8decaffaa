// SPDX-License-Identifier: GPL-2.0
/*
 * A module reference for every open file of the delayed_rmap_test device:
 * the kernel crate of Linux 7.2 builds the misc device's file_operations
 * without an owner, so the VFS takes none (module_ref.rs has the scheme).
 * replace_fops() is a macro, which the Rust side cannot call.
 */

#include <linux/fs.h>
#include <linux/module.h>

#include "module_ref.h"

/*
 * From the device's open(): takes a module reference and switches @file to
 * @fops, whose owner is this module; the final fput() of @file puts the
 * reference.  -ENODEV if the module is being unloaded.
 */
int delayed_rmap_file_hold_module(struct file *file, const struct file_operations *fops)
{
	if (WARN_ON_ONCE(fops->owner != THIS_MODULE))
		return -EINVAL;
	if (!try_module_get(THIS_MODULE))
		return -ENODEV;
	replace_fops(file, fops);
	return 0;
}
