    #[test]
    fn module_pages_end_state() -> Result {
    #[test]
    fn shmem_pages_end_state() -> Result {
    #[test]
    fn module_pages_flush_order() -> Result {
    #[test]
    fn shmem_pages_flush_order() -> Result {
    #[test]
    fn shmem_table_flush_order() -> Result {
    #[test]
    fn lru_page_pageout_unlock_order() -> Result {
    #[test]
    fn clean_pages_out_of_rmap_at_flush() -> Result {
