public enum SriovTestSupportPlaceholder {}
