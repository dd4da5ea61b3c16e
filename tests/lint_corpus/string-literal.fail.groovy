pipeline {
    agent any
    stages {
        stage(1) {  // <-- string-literal
            steps { echo 'x' }
        }
    }
}
