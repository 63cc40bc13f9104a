public enum SriovGRPCPlaceholder {}
