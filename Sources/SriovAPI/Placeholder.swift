public enum SriovAPIPlaceholder {}
