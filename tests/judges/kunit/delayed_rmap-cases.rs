    #[test]
    #[cfg(CONFIG_X86_64)]
    fn shmem_pages_end_state() -> Result {
--
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn shmem_pages_flush_order() -> Result {
--
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn munmap_flush_order() -> Result {
--
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn map_fixed_flush_order() -> Result {
--
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn shmem_truncate_flush_order() -> Result {
--
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn zap_half_control() -> Result {
--
    #[test]
    #[cfg(CONFIG_X86_64)]
    fn clean_pages_out_of_rmap_at_flush() -> Result {
