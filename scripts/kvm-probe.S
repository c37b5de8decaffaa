/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KVM probe for scripts/vng-run.sh: a 64 KiB "BIOS" that takes the vCPU
 * from the reset vector through protected mode into 64-bit long mode with
 * paging on, then writes 1 to QEMU's isa-debug-exit port (0xf4), which makes
 * QEMU exit with status 3.  Any other outcome (abort, hang, other status)
 * means this host cannot run our guests under KVM.
 *
 * Why long mode: on some hosts /dev/kvm exists and a real-mode-only probe
 * passes, yet every Linux guest hangs before printing anything (seen on the
 * project's machines: nested "kvm-pvm" hosts).  This probe hangs there too.
 *
 * Build: as --64 -o p.o kvm-probe.S && ld -m elf_x86_64 -Ttext 0 --oformat binary -o p.bin p.o
 * The image is mapped at 0xF0000 (and 0xFFFF0000); code offsets are relative
 * to 0xF0000, hence the "0xF0000 +" for linear addresses.
 */
	.code16
	.text
	.globl _start
_start:
	cli
	movw	%cs, %ax
	movw	%ax, %ds
	lgdtl	gdtr
	movl	%cr0, %eax
	orl	$1, %eax
	movl	%eax, %cr0
	ljmpl	$0x08, $(0xF0000 + pm32)

	.code32
pm32:
	movw	$0x10, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	/* page tables at 0x1000 (PML4), 0x2000 (PDPT), 0x3000 (PD) */
	movl	$0x1000, %edi
	xorl	%eax, %eax
	movl	$(3 * 4096 / 4), %ecx
	rep stosl
	movl	$0x2003, 0x1000
	movl	$0x3003, 0x2000
	movl	$0x83, 0x3000		/* 2 MiB identity page: present, rw, PS */
	movl	$0x1000, %eax
	movl	%eax, %cr3
	movl	%cr4, %eax
	orl	$0x20, %eax		/* PAE */
	movl	%eax, %cr4
	movl	$0xC0000080, %ecx	/* EFER.LME */
	rdmsr
	orl	$0x100, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$0x80000000, %eax	/* PG: long mode on */
	movl	%eax, %cr0
	ljmp	$0x18, $(0xF0000 + lm64)

	.code64
lm64:
	movb	$1, %al
	outb	%al, $0xf4		/* isa-debug-exit: QEMU exits with 3 */
	hlt
	jmp	lm64

	.balign 8
gdt:
	.quad	0
	.quad	0x00CF9A000000FFFF	/* 0x08: 32-bit code */
	.quad	0x00CF92000000FFFF	/* 0x10: data */
	.quad	0x00AF9A000000FFFF	/* 0x18: 64-bit code */
gdtr:
	.word	gdtr - gdt - 1
	.long	0xF0000 + gdt

	.org	0xFFF0
	.code16
	ljmp	$0xF000, $_start
	.org	0x10000
