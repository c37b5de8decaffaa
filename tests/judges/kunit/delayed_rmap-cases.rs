    #[test]
    #[cfg(CONFIG_X86_64)]
    fn module_pages_end_state() -> Result {
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn shmem_pages_end_state() -> Result {
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn module_pages_flush_order() -> Result {
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn shmem_pages_flush_order() -> Result {
    #[test]
    #[cfg(all(CONFIG_X86_64, CONFIG_PT_RECLAIM))]
    fn shmem_table_flush_order() -> Result {
    #[test]
    #[cfg(all(CONFIG_ARCH_WANT_BATCHED_UNMAP_TLB_FLUSH, CONFIG_KPROBES))]
    fn lru_page_pageout_unlock_order() -> Result {
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn munmap_flush_order() -> Result {
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn map_fixed_flush_order() -> Result {
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn shmem_truncate_flush_order() -> Result {
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn zap_half_control() -> Result {
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn clean_pages_out_of_rmap_at_flush() -> Result {
